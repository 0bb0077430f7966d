# Negative fixture (OPS-34): the build stage uses golang:latest.
ARG GO_VERSION=1.27.3
FROM golang:latest AS build
ENV CGO_ENABLED=0
RUN go build -trimpath -o /out/mcpbox .

FROM scratch
COPY --from=build /out/mcpbox /mcpbox
USER 65532:65532
ENTRYPOINT ["/mcpbox"]
