// Package mailbox is the store of caught mail behind the catch web UI, its
// Mailpit- and MailHog-compatible APIs and `devbox mail wait`.
//
// The messages themselves stay where the relay wrote them, durably (synced
// before the 250 reply): ID.eml in the spool's caught folder, its first
// line the envelope (EnvelopeHeader; earlier versions wrote it to ID.json
// beside the message, which is still read). The store keeps an index of them in memory: one summary
// per message (addresses, subject, snippet, tags, read state), sorted by
// ID, which sorts by arrival. Listing and searching scan that slice, so a
// page or a search at 100,000 messages costs a few milliseconds and no
// disk access, except free text not found in the first 512 bytes of a
// longer text, which is looked for in the message's file (fulltext.go). A snapshot of the index (Config.Index) is written in the
// background and at Close; at start the store reads it and parses only the
// messages it does not list, so it starts fast at 100,000 messages. The
// snapshot is only a cache: a damaged or missing one costs a full scan,
// never a message. Read flags and tags set through the API live in the
// snapshot (best effort: a crash loses at most the last few seconds of
// them, never mail).
//
// Messages are decoded with github.com/emersion/go-message, charsets by
// golang.org/x/text: RFC 2047 words, quoted-printable and base64,
// multipart/alternative and related, message/rfc822 as an attachment.
//
// Tags ("mailboxes"): each message is tagged with the SMTP AUTH user that
// sent it and with the +tag of each recipient (dev+signup@x.test: signup),
// so `tag:NAME` in a search shows one project's or one test run's mail.
package mailbox
