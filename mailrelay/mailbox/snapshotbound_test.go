package mailbox

import (
	"encoding/binary"
	"hash/crc32"
	"log/slog"
	"runtime"
	"testing"
)

// hostileSnapshot is a snapshot with a valid checksum whose counts claim
// as many items as there are bytes left: n bytes of zeros behind the
// claimed count.
func hostileSnapshot(count func(rest int) []byte, n int) []byte {
	b := append([]byte(snapshotMagic), snapshotVersion)
	b = append(b, count(n)...)
	b = append(b, make([]byte, n)...)
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// TestSnapshotCountsBoundAllocation: a snapshot that passes its checksum
// (written by anything, not only devbox) but claims more entries,
// addresses or tags than its bytes can hold is refused without allocating
// many times its size (an entry in memory is hundreds of bytes; a claimed
// count used to be trusted up to the file's length, so a 4 MB file cost
// more than a gigabyte and a larger one could end the process).
func TestSnapshotCountsBoundAllocation(t *testing.T) {
	const size = 4 << 20
	entry := func(rest int) []byte { return binary.AppendUvarint(nil, uint64(rest)) }
	// one entry whose To list claims every byte left as an address
	addrs := func(rest int) []byte {
		b := binary.AppendUvarint(nil, 1)
		b = append(b, 0)                   // flags
		b = append(b, make([]byte, 12)...) // twelve empty strings
		return append(b, binary.AppendUvarint(nil, uint64(rest))...)
	}
	tags := func(rest int) []byte {
		b := binary.AppendUvarint(nil, 1)
		b = append(b, 0)
		b = append(b, make([]byte, 12+4)...) // strings, then four empty address lists
		return append(b, binary.AppendUvarint(nil, uint64(rest))...)
	}
	for _, tc := range []struct {
		name  string
		count func(int) []byte
	}{{"entries", entry}, {"addresses", addrs}, {"tags", tags}} {
		t.Run(tc.name, func(t *testing.T) {
			data := hostileSnapshot(tc.count, size)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := decodeSnapshot(data)
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("decoded")
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > 24*size {
				t.Errorf("allocated %d MB for a %d MB snapshot", got>>20, size>>20)
			}
		})
	}
}

// FuzzGobSnapshot reads any file as an earlier (gob) snapshot: never a
// panic, and only entries with a valid ID.
func FuzzGobSnapshot(f *testing.F) {
	f.Add(gobSnapshot(benchEntries(2)))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := &Store{cfg: Config{Log: slog.New(slog.DiscardHandler)}}
		for id := range s.loadGobSnapshot(b) {
			if !ValidID(id) {
				t.Fatalf("entry ID %q", id)
			}
		}
	})
}
