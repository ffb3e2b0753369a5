# One image for both roles: `docker run IMAGE hub` and `docker run IMAGE worker --config ...`.
# See docker-compose.yml for production mode. Model weights are not baked in: mount models/.
# The console's map library (Leaflet) comes from npm, pinned by web/package-lock.json.
FROM node:20-bookworm-slim AS web
WORKDIR /build/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# ffmpeg for PyAV's tools and clips; libgl1/libglib2.0-0 for OpenCV (ultralytics imports cv2).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# torch first, pinned, so ultralytics does not pull another build. The default index gives the
# CUDA build on x86_64 (runs on CPU too); for a smaller CPU-only image build with
#   --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_INDEX_URL=https://pypi.org/simple
RUN pip install --index-url "${TORCH_INDEX_URL}" torch==2.14.1 torchvision==0.29.1

COPY pyproject.toml README.md LICENSE ./
COPY cameras ./cameras
COPY detection ./detection
COPY hub ./hub
COPY web ./web
COPY --from=web /build/web/node_modules/leaflet/dist/leaflet.js \
     /build/web/node_modules/leaflet/dist/leaflet.css ./web/static/vendor/leaflet/
COPY --from=web /build/web/node_modules/leaflet/dist/images ./web/static/vendor/leaflet/images
COPY xueliang ./xueliang
RUN pip install '.[all]'

COPY models/manifest.toml ./models/manifest.toml

# Non-root; the evidence folder exists with the right owner so a fresh named volume inherits it.
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin xueliang \
    && mkdir -p /var/lib/xueliang/evidence \
    && chown -R xueliang:xueliang /var/lib/xueliang
USER xueliang

EXPOSE 8000
ENTRYPOINT ["xueliang"]
CMD ["--help"]
