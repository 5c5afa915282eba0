// Package dnsserver is devbox's DNS server for development names: it
// answers from hosts files, wildcard rules and (optionally) the containers
// of the Docker engine, and forwards every other name upstream with a cache.
//
// The answer logic is a pure function of an immutable Zone and a question
// (Zone.Resolve); the UDP fast path (wire.go) answers the common case from
// the same zone straight from the packet bytes, without allocating. A Server
// loads the data (New), binds UDP and TCP on every address (Listen), and
// serves until its context ends (Serve), reloading the files when they
// change and on Reload.
//
// The rules, in order:
//
//  1. An exact name wins, even for a type it has no data for (NODATA).
//  2. Otherwise the longest wildcard suffix: "*.d" matches every name below
//     d at any depth, never d itself.
//  3. Otherwise, under a local zone (test, localhost, invalid and --local),
//     a name above local data is NODATA and any other is NXDOMAIN, unless
//     a --server domain at least as long holds the name (forwarded there).
//  4. Anything else is forwarded (or REFUSED without upstreams).
//
// localhost and every name below it answer 127.0.0.1 and ::1 (RFC 6761
// §6.3) as built-in data of the lowest priority. A claimed name asked in a
// class other than IN or ANY is REFUSED, never forwarded. Before all of
// these, a question of a meta-type is answered for any name and never
// forwarded: AXFR and IXFR REFUSED; OPT, TKEY, TSIG, MAILA, MAILB and the
// rest of 128-254 FORMERR (handler.go).
//
// Local answers are authoritative, for A, AAAA, PTR (automatic, the first
// name given for each address) and ANY (the A, AAAA and PTR records the
// name has); every other type is NODATA, with a synthetic SOA in authority
// whose MINIMUM is the local TTL.
//
// Hardening, each stated where it is done: replies from upstreams are
// matched to their query and TTLs bounded (upstream.go); TCP follows RFC
// 7766 with concurrent pipelined answers and a graceful close (tcp.go);
// forwarded queries in flight are bounded per client and in all, and UDP
// responses are rate limited on sockets beyond loopback, a client being an
// IPv4 address or an IPv6 prefix, /56 by default (limits.go); a UDP query
// that finds the slow path full is answered REFUSED by the reader
// (udp.go); the watched files follow directory replacement and ConfigMap
// symlink swaps (watch.go).
package dnsserver
