// Package dockerhost picks the Docker engine a command talks to exactly as
// the docker CLI does, and dials it.
//
// Selection (Choose), first match wins, as docker/cli's resolveContextName:
//
//  1. the --context flag;
//  2. DOCKER_HOST (the "default" context with that address);
//  3. DOCKER_CONTEXT;
//  4. currentContext in $DOCKER_CONFIG/config.json (~/.docker/config.json);
//  5. the "default" context: the default socket.
//
// DOCKER_HOST beats DOCKER_CONTEXT because the docker CLI orders them so;
// a --context flag beats both. Contexts are read from the docker CLI's own
// store ($DOCKER_CONFIG/contexts: meta.json and TLS material) with the
// docker CLI's store package, so whatever `docker context create` writes is
// read the same way. The "default" context takes TLS from the environment
// as the docker CLI does: DOCKER_TLS_VERIFY (or DOCKER_TLS) set turns TLS on,
// DOCKER_TLS_VERIFY verifies the server, and the certificates are ca.pem,
// cert.pem and key.pem in DOCKER_CERT_PATH (default the config folder).
//
// ssh:// engines run the system ssh with `docker system dial-stdio` on the
// remote host (docker/cli's connhelper), so the user's ssh config, agent and
// known_hosts apply. Every connection of one SSH session (one devbox
// command) goes through one SSH connection: a ControlMaster whose socket
// lives in a private folder made for the session and removed by
// Session.Close, which also stops the master. A master left behind by a
// killed command exits by itself after ControlPersist (DefaultControlPersist)
// without clients.
//
// Contexts devbox manages (SaveContext, RemoveContext, SetCurrent) are
// written with the same store package, and config.json is rewritten keeping
// every other field as it was.
package dockerhost
