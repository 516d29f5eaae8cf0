# The node image: one `tongban` command for nodes, provisioning and the example back-ends.
# Build: docker build -t tongban .   (docker-compose.yml builds it for every service)
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# The project's own packages only (tests, docs and deploy files stay out of the image).
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY projections ./projections
COPY regions ./regions
COPY api ./api
COPY simulations ./simulations
RUN pip install . && rm -rf /src

# A non-root user; its home holds SQLite files if a node is run with --store sqlite.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin tongban
USER tongban
WORKDIR /home/tongban

EXPOSE 8000
ENTRYPOINT ["tongban"]
CMD ["--help"]
