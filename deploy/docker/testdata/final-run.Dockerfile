# Negative fixture (OPS-34): the final stage has a RUN.
ARG GO_VERSION=1.27.3
FROM golang:${GO_VERSION}-bookworm AS build
ENV CGO_ENABLED=0
RUN go build -trimpath -o /out/mcpbox .

FROM scratch
COPY --from=build /out/mcpbox /mcpbox
RUN ["/mcpbox", "config-doc"]
USER 65532:65532
ENTRYPOINT ["/mcpbox"]
