package mailrelay

import (
	"bytes"
	"net/mail"
	"strings"
)

// Active reports whether the rewrite changes anything.
func (rw Rewrite) Active() bool {
	return rw.From != "" || rw.Domain != "" || rw.Hostname != ""
}

// Sender rewrites an envelope sender: a forced From wins; else the domain
// is replaced by Domain; else a bare user name is qualified with Hostname.
// The null sender (bounces) stays null unless From is forced.
func (rw Rewrite) Sender(addr string) string {
	if rw.From != "" {
		return rw.From
	}
	if addr == "" {
		return ""
	}
	local, _, hasDomain := strings.Cut(addr, "@")
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		local = addr[:i]
	}
	switch {
	case rw.Domain != "":
		return local + "@" + rw.Domain
	case !hasDomain && rw.Hostname != "":
		return addr + "@" + rw.Hostname
	}
	return addr
}

// Message applies the rewrite to the From header when HeaderFrom is set,
// keeping the display name. A message without From gets one. Anything it
// cannot parse is left as it is.
func (rw Rewrite) Message(msg []byte) []byte {
	if !rw.HeaderFrom || (rw.From == "" && rw.Domain == "") {
		return msg
	}
	eol := []byte("\r\n")
	end := bytes.Index(msg, []byte("\r\n\r\n"))
	if lf := bytes.Index(msg, []byte("\n\n")); end < 0 || (lf >= 0 && lf < end) {
		end, eol = lf, []byte("\n")
	}
	if end < 0 {
		return msg
	}
	head := msg[:end+len(eol)]
	start, stop := findHeader(head, "from")
	if start < 0 {
		from := (&mail.Address{Address: rw.Sender("")}).String()
		if from == "<@>" || rw.From == "" {
			return msg
		}
		return append(append([]byte("From: "+from), eol...), msg...)
	}
	value := string(head[start+bytes.IndexByte(head[start:], ':')+1 : stop])
	addr, err := mail.ParseAddress(strings.TrimSpace(unfold(value)))
	if err != nil {
		return msg
	}
	addr.Address = rw.Sender(addr.Address)
	var out bytes.Buffer
	out.Grow(len(msg) + 64)
	out.Write(msg[:start])
	out.WriteString("From: " + addr.String())
	out.Write(eol)
	out.Write(msg[stop:])
	return out.Bytes()
}

// findHeader returns the byte range of the first header field called
// name (lowercase), continuation lines and line end included in stop.
func findHeader(head []byte, name string) (start, stop int) {
	pos := 0
	for pos < len(head) {
		nl := bytes.IndexByte(head[pos:], '\n')
		if nl < 0 {
			return -1, -1
		}
		line := head[pos : pos+nl+1]
		colon := bytes.IndexByte(line, ':')
		if colon > 0 && strings.EqualFold(string(bytes.TrimSpace(line[:colon])), name) {
			end := pos + nl + 1
			for end < len(head) && (head[end] == ' ' || head[end] == '\t') {
				n := bytes.IndexByte(head[end:], '\n')
				if n < 0 {
					end = len(head)
					break
				}
				end += n + 1
			}
			return pos, end
		}
		pos += nl + 1
	}
	return -1, -1
}

func unfold(s string) string {
	return strings.NewReplacer("\r\n", "", "\n", "").Replace(s)
}
