# The devbox image: the static binary and CA certificates, nothing else.
# Build it with `make image` (the context is build/image, made from bin/devbox),
# so no base image is ever pulled.
FROM scratch
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY devbox /devbox
ENV DEVBOX_DNS_LISTEN=0.0.0.0:53 \
    DEVBOX_MAIL_LISTEN=0.0.0.0:25 \
    DEVBOX_MAIL_SPOOL=/var/spool/devbox
VOLUME ["/var/spool/devbox"]
EXPOSE 53/udp 53/tcp 25/tcp
# devbox probes itself (whatever PID 1 serves: dns, mail or both): no shell or curl in the image.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["/devbox", "health", "auto"]
ENTRYPOINT ["/devbox"]
CMD ["dns", "serve"]
