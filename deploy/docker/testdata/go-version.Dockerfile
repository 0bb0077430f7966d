# Negative fixture (OPS-34): GO_VERSION differs from the Makefile's pin.
ARG GO_VERSION=1.26.0
FROM golang:${GO_VERSION}-bookworm AS build
ENV CGO_ENABLED=0
RUN go build -trimpath -o /out/mcpbox .

FROM scratch
COPY --from=build /out/mcpbox /mcpbox
USER 65532:65532
ENTRYPOINT ["/mcpbox"]
