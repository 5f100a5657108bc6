package match

import "math/bits"

// The hash of values in the prefilter and in the retro-hunt history. It is
// fixed (no random seed) because history keys are stored on disk and must
// mean the same in every process; the tables it feeds are built from
// indicators, not from telemetry, so chosen inputs cannot fill them.
const (
	hk0 = 0xa0761d6478bd642f
	hk1 = 0xe7037ed1a0b428db
	hk2 = 0x8ebc6af09c88c6e3
	hk3 = 0x589965cc75374cc3
)

func hmix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func load64[T string | []byte](b T, i int) uint64 {
	return uint64(b[i]) | uint64(b[i+1])<<8 | uint64(b[i+2])<<16 | uint64(b[i+3])<<24 |
		uint64(b[i+4])<<32 | uint64(b[i+5])<<40 | uint64(b[i+6])<<48 | uint64(b[i+7])<<56
}

// hashOf hashes b with seed.
func hashOf[T string | []byte](seed uint64, b T) uint64 {
	n := len(b)
	h := seed ^ hk0 ^ uint64(n)*hk3
	i := 0
	for ; i+16 <= n; i += 16 {
		h = hmix(load64(b, i)^hk1, load64(b, i+8)^h)
	}
	if i+8 <= n {
		h = hmix(h^hk1, load64(b, i)^hk2)
		i += 8
	}
	var t uint64
	for j := n - 1; j >= i; j-- {
		t = t<<8 | uint64(b[j])
	}
	h = hmix(h^hk1, t^hk2^uint64(n))
	return hmix(h^hk3, hk0) ^ h
}

// KeyHash is the hash of a value of path p: the key of the prefilter and,
// for values that are not addresses, of the retro-hunt history.
func KeyHash[T string | []byte](p Path, v T) uint64 {
	h := hashOf(uint64(p)*0x9E3779B97F4A7C15, v)
	if h == 0 {
		h = 1
	}
	return h
}

// keySet is an open-addressing set of non-zero 64-bit hashes with linear
// probing at a load factor of at most one half, so that a miss costs one
// or two probes.
type keySet struct {
	keys []uint64
	n    int
}

func (s *keySet) has(h uint64) bool {
	if s.n == 0 {
		return false
	}
	mask := uint64(len(s.keys) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.keys[i] {
		case h:
			return true
		case 0:
			return false
		}
	}
}

func (s *keySet) add(h uint64) {
	if (s.n+1)*2 > len(s.keys) {
		s.grow()
	}
	mask := uint64(len(s.keys) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.keys[i] {
		case h:
			return
		case 0:
			s.keys[i] = h
			s.n++
			return
		}
	}
}

func (s *keySet) grow() {
	size := 1024
	if len(s.keys) > 0 {
		size = 2 * len(s.keys)
	}
	old := s.keys
	s.keys = make([]uint64, size)
	mask := uint64(size - 1)
	for _, h := range old {
		if h == 0 {
			continue
		}
		i := h & mask
		for s.keys[i] != 0 {
			i = (i + 1) & mask
		}
		s.keys[i] = h
	}
}

// reserve sizes the set for n keys.
func (s *keySet) reserve(n int) {
	size := 1024
	for size < 2*n {
		size *= 2
	}
	if size <= len(s.keys) {
		return
	}
	old := s.keys
	s.keys = make([]uint64, size)
	s.n = 0
	for _, h := range old {
		if h != 0 {
			s.add(h)
		}
	}
}

// bloom is a blocked Bloom filter: each key sets bloomK bits in one
// 64-byte block, so a lookup reads one cache line. At 16 bits per key it
// answers "maybe" for well under 1% of absent keys, in a table a
// fraction of the size of the key set it guards.
type bloom struct {
	blocks [][8]uint64
	n      int
}

const (
	bloomK       = 6
	bloomBitsKey = 16
)

func (b *bloom) grow(n int) { b.size(n, bloomBitsKey) }

// size allocates an empty filter for n keys at bits per key or more.
func (b *bloom) size(n, bits int) {
	size := 1
	for size*512 < n*bits {
		size *= 2
	}
	b.blocks = make([][8]uint64, size)
	b.n = 0
}

func (b *bloom) add(h uint64) {
	blk := &b.blocks[(h>>40)&uint64(len(b.blocks)-1)]
	x := h
	for range bloomK {
		blk[(x>>6)&7] |= 1 << (x & 63)
		x = x>>9 | x<<55
	}
	b.n++
}

func (b *bloom) maybe(h uint64) bool {
	if len(b.blocks) == 0 {
		return false
	}
	blk := &b.blocks[(h>>40)&uint64(len(b.blocks)-1)]
	x := h
	for range bloomK {
		if blk[(x>>6)&7]&(1<<(x&63)) == 0 {
			return false
		}
		x = x>>9 | x<<55
	}
	return true
}

// filterSet is a keySet behind a Bloom filter sized to it; the filter is
// rebuilt as the set grows.
type filterSet struct {
	set keySet
	bf  bloom
}

func (f *filterSet) add(h uint64) {
	f.set.add(h)
	if f.set.n*bloomBitsKey > len(f.bf.blocks)*512 {
		f.bf.grow(2 * f.set.n)
		for _, k := range f.set.keys {
			if k != 0 {
				f.bf.add(k)
			}
		}
		return
	}
	f.bf.add(h)
}

func (f *filterSet) has(h uint64) bool { return f.bf.maybe(h) && f.set.has(h) }

// compact rebuilds the filter at the smallest size with bloomBitsKey bits
// per key (growth leaves up to twice that), so that more of it stays in
// the processor's caches.
func (f *filterSet) compact() {
	if f.set.n == 0 {
		return
	}
	f.bf.size(f.set.n, bloomBitsKey)
	if len(f.bf.blocks)*512 >= 2*f.set.n*bloomBitsKey {
		// A power of two above is as large as before: try a little less.
		f.bf.size(f.set.n, bloomBitsKey*3/4)
	}
	for _, k := range f.set.keys {
		if k != 0 {
			f.bf.add(k)
		}
	}
}

func (f *filterSet) len() int { return f.set.n }
