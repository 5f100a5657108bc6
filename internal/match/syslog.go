package match

import (
	"bytes"
	"strings"
)

var sdUnescape = strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\]`, `]`)

var (
	syslogMsg = fieldSpec{kind: fText, name: "msg"}
	syslogSD  = fieldSpec{kind: fText, name: "structured-data"}
)

// parseSyslog reads a syslog line: RFC 5424 ("<PRI>1 TIMESTAMP HOST APP
// PROCID MSGID [SD] MSG"), RFC 3164 ("<PRI>Mmm dd hh:mm:ss HOST TAG: MSG"),
// or either without the priority as files written by syslog daemons have
// them. The sending host is not read (it is the reporter, not an
// observable); the message is read as CEF when it holds a CEF header and as
// free text otherwise, and so are the values of structured data.
func parseSyslog(line []byte, rec *Record) {
	s := line
	if len(s) > 2 && s[0] == '<' {
		j := 1
		for j < len(s) && j < 5 && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j > 1 && j < len(s) && s[j] == '>' {
			s = s[j+1:]
		}
	}
	// RFC 5424: a version number, then the fields.
	if len(s) > 2 && s[0] >= '1' && s[0] <= '9' && s[1] == ' ' {
		f := bytes.SplitN(s[2:], []byte(" "), 6)
		if len(f) == 6 {
			if string(f[0]) != "-" {
				rec.setTime(f[0])
			}
			msg := parseSD(f[5], rec)
			msg = bytes.TrimPrefix(msg, []byte("\xef\xbb\xbf"))
			syslogMessage(msg, rec)
			return
		}
	}
	// RFC 3164: "Mmm dd hh:mm:ss" or an RFC 3339 time stamp, then the host.
	if len(s) >= 16 && isAlpha(s[0]) && s[3] == ' ' && s[6] == ' ' && s[9] == ':' {
		rec.setTime(s[:15])
		s = s[16:]
	} else if sp := bytes.IndexByte(s, ' '); sp >= 19 && s[4] == '-' && s[10] == 'T' {
		rec.setTime(s[:sp])
		s = s[sp+1:]
	} else {
		syslogMessage(s, rec)
		return
	}
	if sp := bytes.IndexByte(s, ' '); sp >= 0 {
		s = s[sp+1:] // the host
	}
	syslogMessage(s, rec)
}

func syslogMessage(msg []byte, rec *Record) {
	if bytes.Contains(msg, []byte("CEF:")) && parseCEF(msg, rec) {
		return
	}
	addField(rec, &syslogMsg, msg)
}

// parseSD reads RFC 5424 structured data ("-" or "[id k="v" …]…") at the
// start of s, adds the values, and returns the message after it.
func parseSD(s []byte, rec *Record) []byte {
	if len(s) > 0 && s[0] == '-' {
		if len(s) > 1 {
			return s[2:]
		}
		return nil
	}
	for len(s) > 0 && s[0] == '[' {
		i := 1
		for i < len(s) && s[i] != ']' {
			if s[i] == '"' {
				j := i + 1
				var val []byte
				escaped := false
				for ; j < len(s) && s[j] != '"'; j++ {
					if s[j] == '\\' && j+1 < len(s) {
						escaped = true
						j++
					}
				}
				val = s[i+1 : min(j, len(s))]
				if escaped {
					val = rec.keep([]byte(sdUnescape.Replace(string(val))))
				}
				addField(rec, &syslogSD, val)
				i = j + 1
				continue
			}
			i++
		}
		if i >= len(s) {
			return nil
		}
		s = s[i+1:]
	}
	if len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	return s
}
