// Package mailrelay is a durable SMTP relay for development environments.
//
// A Relay accepts mail on an SMTP listener (go-smtp), writes each message
// and its envelope to a spool directory and syncs file and directory to
// disk before it answers 250 to DATA. Delivery workers then send spooled
// messages to the upstream (STARTTLS, TLS or plain, AUTH PLAIN/LOGIN/
// CRAM-MD5), retry temporary failures with exponential backoff, and move
// permanent failures to the failed queue with the upstream's reply. In
// catch mode messages are kept as .eml files and served over a small HTTP
// API instead of being relayed.
//
// Spool layout (DIR is --spool):
//
//	DIR/queue/ID.msg    accepted, waiting for delivery (spool record)
//	DIR/queue/ID.msg.R.tmp being written (R: random per write); renamed
//	                    to ID.msg once synced, before the 250 (so never
//	                    acknowledged)
//	DIR/failed/ID.msg   permanently failed or expired (spool record)
//	DIR/corrupt/ID.msg  a record that failed a check, set aside
//	DIR/spare/N         emptied files of delivered records, for reuse
//	DIR/caught/ID.eml   caught message, its envelope in the first line
//	                    (mailbox.EnvelopeHeader; earlier versions: ID.json);
//	                    written through ID.eml.R.tmp like a queue record
//	DIR/ctl/            requests from `devbox mail queue` to a running relay
//	DIR/lock            held (flock) by the relay that owns the spool
//
// Usage:
//
//	r, err := mailrelay.New(cfg, logger)
//	addr, err := r.Listen()
//	err = r.Serve(ctx) // until ctx ends
package mailrelay
