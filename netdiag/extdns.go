package netdiag

import (
	"bytes"
	"encoding/json"
	"path"
	"strings"
)

// The external servers of the embedded DNS (ExtDNS) of a container on a
// user-defined network are not in its resolv.conf (which lists only
// 127.0.0.11): the engine picks them from the host's resolv.conf (or its
// own --dns) when the container starts and keeps them until it restarts.
// Two places say what they are, and the doctor reads both:
//
//   - Docker 25 and later write them into the container's resolv.conf as a
//     comment: "# ExtServers: [host(127.0.0.53) 10.0.0.1]".
//   - Every engine since 1.14 persists them with the container's sandbox in
//     its network store, <data root>/network/files/local-kv.db, as
//     {"ID":"<sandbox>","Cid":...,"ExtDNS":[...],"ExtDNS2":[{"IPStr":...}]}:
//     the record the engine itself restores the embedded DNS from after a
//     live-restore. The file is a bolt database the engine keeps locked, so
//     the doctor reads it as bytes and decodes the JSON record of the
//     container's current sandbox ID (a restart makes a new sandbox, so old
//     copies left in free pages never match).
//
// Querying through the container's 127.0.0.11 was rejected: which upstream
// answered cannot be told from the answer, and a server that is gone only
// shows as timeouts that have other causes.

// extServersComment parses Docker 25+'s "# ExtServers: [...]" comment.
func extServersComment(resolvConf []byte) ([]string, bool) {
	for _, line := range strings.Split(string(resolvConf), "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "# ExtServers:")
		if !ok {
			continue
		}
		var out []string
		for _, f := range strings.Fields(strings.Trim(strings.TrimSpace(v), "[]")) {
			f = strings.TrimSuffix(strings.TrimPrefix(f, "host("), ")")
			if f != "" {
				out = append(out, f)
			}
		}
		return out, true
	}
	return nil, false
}

// sandboxState is the part of the engine's persisted sandbox record the
// doctor reads.
type sandboxState struct {
	ID      string
	ExtDNS  []string
	ExtDNS2 []struct {
		IPStr        string
		HostLoopback bool
	}
}

// networkStorePath is where the engine keeps its network store below its
// data root.
func networkStorePath(dataRoot string) string {
	return path.Join(dataRoot, "network", "files", "local-kv.db")
}

// sandboxExtDNS finds the record of sandbox id in the raw network store and
// returns its external DNS servers.
func sandboxExtDNS(store []byte, id string) ([]string, bool) {
	if id == "" {
		return nil, false
	}
	needle := []byte(`{"ID":"` + id + `"`)
	for off := 0; off < len(store); {
		i := bytes.Index(store[off:], needle)
		if i < 0 {
			break
		}
		start := off + i
		off = start + len(needle)
		var sb sandboxState
		if err := json.NewDecoder(bytes.NewReader(store[start:])).Decode(&sb); err != nil || sb.ID != id {
			continue // a record cut by a page boundary: try the next copy
		}
		var out []string
		for _, e := range sb.ExtDNS2 {
			out = append(out, e.IPStr)
		}
		if len(sb.ExtDNS2) == 0 {
			out = sb.ExtDNS
		}
		return out, true
	}
	return nil, false
}
