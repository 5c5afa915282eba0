package mailrelay

import "errors"

// Close releases what Listen took (the listeners, the caught-mail index and
// the spool's lock) for a relay that will not Serve, for example because
// another service of `devbox serve` failed to start. A relay that served
// releases them itself when its context ends; Close then does nothing.
func (r *Relay) Close() error {
	if r.served.Swap(true) {
		return nil
	}
	var errs []error
	if r.ln != nil {
		errs = append(errs, r.ln.Close())
	}
	if r.httpLn != nil {
		errs = append(errs, r.httpLn.Close())
	}
	if r.box != nil {
		errs = append(errs, r.box.Close())
	}
	r.spool.Unlock()
	return errors.Join(errs...)
}
