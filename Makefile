# devbox: see README.md. `make run` starts the local services, `make test`
# runs every test (it installs what the tests need and starts the engine).
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BIN      := bin/devbox
IMAGE    ?= devbox:latest
PKGS     := ./...

.PHONY: all build cross test-arm64 docs install uninstall release release-images run test test-short lint fmt deps docker-up bench bench-dns bench-mail bench-catch bench-run compare-sendmail cover image clean

all: lint test build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/devbox

# install puts the binary and the bash, zsh and fish completions under
# PREFIX (DESTDIR for packaging); uninstall removes exactly those files.
PREFIX  ?= /usr/local
INSTALLED := $(DESTDIR)$(PREFIX)/bin/devbox \
	$(DESTDIR)$(PREFIX)/share/bash-completion/completions/devbox \
	$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_devbox \
	$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/devbox.fish \
	$(patsubst docs/man/%,$(DESTDIR)$(PREFIX)/share/man/man1/%,$(wildcard docs/man/*.1))

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/devbox
	mkdir -p $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	./$(BIN) completion bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/devbox
	./$(BIN) completion zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_devbox
	./$(BIN) completion fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/devbox.fish
	mkdir -p $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0644 docs/man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/

uninstall:
	rm -f $(INSTALLED)

run: build
	./$(BIN) serve

deps:
	@scripts/deps.sh

docker-up:
	@scripts/docker-up.sh

test: deps docker-up
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

test-short:
	$(GO) test -short -count=1 $(PKGS)

# PLATFORMS are the targets devbox builds and vets for; `make cross` builds
# each, `make lint` vets each.
PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt: not formatted:"; echo "$$out"; exit 1; fi
	@for p in $(PLATFORMS); do \
	  echo "go vet ($$p)"; \
	  GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) vet $(PKGS) || exit 1; \
	done
	$(GO) tool staticcheck $(PKGS)

# test-arm64 runs the -short tests as linux/arm64 binaries under qemu-user
# (Debian's qemu-user-static, which make deps installs); CI runs it after
# make test. TestUDPSteering is skipped: qemu-user does not emulate the
# kernel's reuseport BPF steering it checks.
test-arm64: deps
	GOARCH=arm64 CGO_ENABLED=0 $(GO) test -short -count=1 -exec qemu-aarch64-static -skip 'TestUDPSteering' $(PKGS)

cross:
	@for p in $(PLATFORMS); do \
	  echo "go build ($$p)"; \
	  GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) build -trimpath -o /dev/null ./cmd/devbox || exit 1; \
	done

fmt:
	gofmt -w $$(git ls-files '*.go')

cover: deps docker-up
	$(GO) test -count=1 -coverprofile=cover.out $(PKGS)
	$(GO) tool cover -func=cover.out | tail -1

bench: bench-dns bench-mail bench-run

bench-dns: deps build
	scripts/bench-dns.sh

bench-mail: deps build
	scripts/bench-mail.sh

bench-catch: deps build
	scripts/bench-catch.sh

# compare-sendmail: the same sendmail command lines through Postfix's sendmail and devbox's.
compare-sendmail: deps build
	scripts/compare-sendmail.sh

bench-run: deps docker-up build
	scripts/bench-run.sh

# image builds the FROM scratch image from the static binary, offline.
image: build
	rm -rf build/image && mkdir -p build/image
	cp $(BIN) build/image/devbox
	cp /etc/ssl/certs/ca-certificates.crt build/image/ca-certificates.crt
	docker build -t $(IMAGE) -f Dockerfile build/image

# release cross-builds dist/ (archives and checksums, GoReleaser's layout);
# release-images also builds the image for linux/amd64 and linux/arm64.
release:
	VERSION=$(VERSION) COMMIT=$(COMMIT) scripts/release.sh

release-images:
	VERSION=$(VERSION) COMMIT=$(COMMIT) IMAGES=1 scripts/release.sh

# docs regenerates the reference pages and man pages from the command tree
# (docs/reference, docs/man); a test fails when the committed ones differ.
docs:
	$(GO) test -count=1 -run TestReferenceDocsUpToDate ./cmd/devbox -update-docs

clean:
	rm -rf bin build dist cover.out
