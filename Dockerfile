# Switchboard's Python services (platform, FastAGI, CLI) for sites whose Asterisk runs elsewhere.
# Asterisk, Redis and the SQL server are not in this image: point the site file at them.
FROM debian:bookworm-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates tini \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --home-dir /srv/switchboard --create-home switchboard
WORKDIR /srv/switchboard

COPY pyproject.toml setup.cfg README.md ./
COPY acd ./acd
COPY dialer ./dialer
COPY agi_scripts ./agi_scripts
COPY asterisk_conf ./asterisk_conf
COPY switchboard ./switchboard

RUN python3 -m venv /opt/switchboard \
    && /opt/switchboard/bin/pip install --no-cache-dir . \
    && mkdir -p /srv/switchboard/recordings \
    && chown -R switchboard /srv/switchboard

USER switchboard
ENV PATH=/opt/switchboard/bin:$PATH \
    SWITCHBOARD_CONFIG=/srv/switchboard/switchboard.toml
# FastAGI listens here; publish it only to the Asterisk host.
EXPOSE 4573
ENTRYPOINT ["/usr/bin/tini", "--", "switchboard"]
CMD ["run"]
