package taxii

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// Outbound requests (the client, remotes) go only to public addresses
// unless a remote was added with --allow-private. The check runs in the
// dialer's Control hook, on the address actually being connected to after
// name resolution, so a name that resolves to a public address when it is
// checked and to a private one when it is used (DNS rebinding) is still
// refused, as are redirects to internal hosts and every address a name
// resolves to. Proxies from the environment are not used: a proxy would
// connect on the client's behalf, beyond this check.

// BlockedAddressError reports a connection refused by the outbound guard.
type BlockedAddressError struct {
	Addr netip.Addr
}

func (e *BlockedAddressError) Error() string {
	return fmt.Sprintf("refusing to connect to %s: loopback, private, link-local and other non-public addresses need --allow-private", e.Addr)
}

var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("100::/64"),        // discard
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
}

var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// blockedAddr reports whether ip is not a public unicast address.
func blockedAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range blockedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	if nat64.Contains(ip) {
		// A NAT64 address reaches the IPv4 address in its last 32 bits.
		b := ip.As16()
		return blockedAddr(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	}
	return false
}

// guardControl is the dialer hook that refuses non-public addresses.
func guardControl(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("refusing to connect to %q: not an IP address", host)
	}
	if blockedAddr(ip) {
		return &BlockedAddressError{Addr: ip}
	}
	return nil
}

func newDialer(allowPrivate bool) *net.Dialer {
	d := &net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = guardControl
	}
	return d
}
