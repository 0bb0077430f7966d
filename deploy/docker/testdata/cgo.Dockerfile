# Negative fixture (OPS-34): go build with cgo on.
ARG GO_VERSION=1.27.3
FROM golang:${GO_VERSION}-bookworm AS build
ENV CGO_ENABLED=1
RUN go build -trimpath -o /out/mcpbox .

FROM scratch
COPY --from=build /out/mcpbox /mcpbox
USER 65532:65532
ENTRYPOINT ["/mcpbox"]
