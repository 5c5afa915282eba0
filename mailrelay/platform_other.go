//go:build !linux && !darwin

package mailrelay

import "errors"

// renameNoReplace has no atomic form here: spare files are not reused (a
// fresh file is created for every record instead).
func renameNoReplace(_, _ string) error { return errors.ErrUnsupported }
