package droplet

// DefaultUserData is the cloud-init `up` sends when no --user-data-file is
// given: it waits for the Docker engine of the Docker image and creates
// the `party` bridge network the devbox tools expect, once.
const DefaultUserData = `#cloud-config
runcmd:
  - [sh, -c, "for i in $(seq 1 120); do docker info >/dev/null 2>&1 && break; sleep 1; done; docker network inspect party >/dev/null 2>&1 || docker network create party"]
`
