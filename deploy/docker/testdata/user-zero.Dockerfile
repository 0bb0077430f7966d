# Negative fixture (OPS-34): the final stage runs as uid 0.
ARG GO_VERSION=1.27.3
FROM golang:${GO_VERSION}-bookworm AS build
ENV CGO_ENABLED=0
RUN go build -trimpath -o /out/mcpbox .

FROM scratch
COPY --from=build /out/mcpbox /mcpbox
USER 0:0
ENTRYPOINT ["/mcpbox"]
