# syntax=docker/dockerfile:1
# The worker for RunPod serverless: the GPU node image's worker, FFmpeg, venv and bundled models,
# started as RunPod's handler instead of the node. Reusing that image keeps the two executors on
# the very same FFmpeg build and Python environment. Build the GPU node image first, then:
#   docker build -f docker/runpod-worker.Dockerfile -t <registry>/api-gpu-worker:0.1.0 .
ARG GPU_NODE_IMAGE=api-gpu/gpu-node:0.1.0
FROM ${GPU_NODE_IMAGE}
WORKDIR /app/worker-python
# RunPod watches the handler process, not an HTTP port.
HEALTHCHECK NONE
CMD ["python", "-u", "rp_handler.py"]
