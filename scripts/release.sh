#!/usr/bin/env bash
# Cross-builds the release in GoReleaser's layout: dist/devbox_VERSION_OS_ARCH.tar.gz
# (.zip for Windows), each holding the static binary, README.md, the man pages and the shell
# completions, and dist/checksums.txt (SHA-256). Archives are reproducible: files
# sorted, owned by 0:0, dated at the commit. With IMAGES=1 it also builds the
# FROM scratch image for linux/amd64 and linux/arm64 (devbox:VERSION-ARCH).
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
commit=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
epoch=$(git log -1 --format=%ct 2>/dev/null || date +%s)
platforms=${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64}
ldflags="-s -w -X main.version=$version -X main.commit=$commit"

rm -rf dist
mkdir -p dist/completions
# The completions come from a binary for this machine.
CGO_ENABLED=0 $GO build -trimpath -ldflags "$ldflags" -o dist/devbox-host ./cmd/devbox
for sh in bash zsh fish powershell; do dist/devbox-host completion "$sh" > "dist/completions/devbox.$sh"; done

for p in $platforms; do
  os=${p%/*} arch=${p#*/}
  name="devbox_${version#v}_${os}_${arch}"
  dir="dist/$name"
  exe=devbox
  [ "$os" = windows ] && exe=devbox.exe
  echo "release: $name" >&2
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch $GO build -trimpath -ldflags "$ldflags" -o "$dir/$exe" ./cmd/devbox
  cp README.md "$dir/"
  cp -r docs/man "$dir/man"
  cp -r dist/completions "$dir/"
  find "$dir" -exec touch -h -d "@$epoch" {} +
  if [ "$os" = windows ]; then
    (cd dist && find "$name" -print | LC_ALL=C sort | TZ=UTC zip -qX "$name.zip" -@)
  else
    tar -C dist --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner -czf "dist/$name.tar.gz" "$name"
  fi
  rm -rf "$dir"
done
rm -rf dist/completions dist/devbox-host
(cd dist && sha256sum -- *.tar.gz *.zip > checksums.txt)

if [ "${IMAGES:-0}" = 1 ]; then
  for arch in amd64 arm64; do
    ctx=$(mktemp -d)
    tar -xzf "dist/devbox_${version#v}_linux_${arch}.tar.gz" -C "$ctx" --strip-components=1 "devbox_${version#v}_linux_${arch}/devbox"
    cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
    docker build -q --no-cache --platform "linux/$arch" -t "devbox:${version#v}-$arch" -f Dockerfile "$ctx" >/dev/null
    rm -rf "$ctx"
    echo "release: image devbox:${version#v}-$arch" >&2
  done
fi
ls -l dist >&2
