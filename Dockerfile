# The GPU origin: every function (volume included) on one port, tfjs WebGPU through Deno's WebGPU
# over Vulkan. Run with the NVIDIA Container Toolkit and the graphics capability so the driver's
# Vulkan ICD is mounted:  docker run --gpus all -e NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics
FROM denoland/deno:debian-2.9.6

# The Vulkan loader (the NVIDIA ICD itself comes from the host driver via the toolkit), vulkaninfo
# to check it, and mesa's lavapipe as a software fallback for hosts without a GPU.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvulkan1 vulkan-tools mesa-vulkan-drivers curl \
 && rm -rf /var/lib/apt/lists/*

# Jobs are kept in Deno KV under /app/jobs (a volume): they survive a restart. MEDIMG_REDIS_URL,
# when set, puts several origins on one queue instead (deploy.md, "Scaling the origin").
ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics \
    PORT=8000 \
    MEDIMG_TIME_BUDGET_MS=600000 \
    MEDIMG_JOBS_DIR=/app/jobs

WORKDIR /app
RUN chown deno:deno /app
USER deno
COPY --chown=deno:deno deno.json deno.lock ./
COPY --chown=deno:deno lib ./lib
COPY --chown=deno:deno functions ./functions
COPY --chown=deno:deno models ./models
COPY --chown=deno:deno page ./page
# The GPU check (deploy.md, "Checking the GPU"): WebGPU against wasm on a BraTS case mounted at run
# time: docker run --gpus all -e NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics \
#   -v /srv/brats/BraTS2021_00006:/data:ro medimg-origin deno task gpu-check --case /data/BraTS2021_00006_
COPY --chown=deno:deno bench/gpu_check.ts ./bench/gpu_check.ts
RUN deno install && deno cache functions/main.ts lib/models/pool_worker.ts bench/gpu_check.ts && mkdir -p /app/jobs
VOLUME /app/jobs

# Model passes run in one worker per core (MEDIMG_WORKERS, deploy.md "Workers: every core"); with
# the WebGPU backend (MEDIMG_BACKEND=webgpu) the default is 1: the GPU is the one shared queue.
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD curl -fsS http://127.0.0.1:8000/health || exit 1
CMD ["deno", "run", "--unstable-kv", "--allow-net", "--allow-env", "--allow-read", "--allow-write=/tmp,/app/jobs", "functions/main.ts"]
