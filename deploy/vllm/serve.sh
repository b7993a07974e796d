#!/usr/bin/env bash
# Serve a chat model over vLLM's OpenAI-compatible API, for LLM_BACKEND=vllm. Run it on the GPU
# host, where `vllm` is installed (it is not in requirements.txt); see deploy/vllm/README.md.
#
#   LLM_MODEL                    model id or local folder (Qwen/Qwen2.5-1.5B-Instruct); the
#                                platform sends the same name as the request's "model"
#   VLLM_HOST                    address to bind (127.0.0.1; 0.0.0.0 only on a private network)
#   VLLM_PORT                    port (8001); VLLM_BASE_URL is then http://HOST:8001/v1
#   VLLM_DTYPE                   weights' dtype: auto, bfloat16, float16 (auto)
#   VLLM_MAX_MODEL_LEN           prompt plus answer, in tokens (8192)
#   VLLM_GPU_MEMORY_UTILIZATION  share of GPU memory for weights and KV cache (0.85)
#   VLLM_API_KEY                 when set, requests need it as a bearer token (the platform
#                                sends its own VLLM_API_KEY); or
#   VLLM_API_KEY_FILE            a file holding it
#   VLLM_EXTRA_ARGS              more flags, e.g. "--tensor-parallel-size 2"
#   VLLM                         the vllm executable (vllm)
set -euo pipefail

LLM_MODEL=${LLM_MODEL:-Qwen/Qwen2.5-1.5B-Instruct}
VLLM_HOST=${VLLM_HOST:-127.0.0.1}
VLLM_PORT=${VLLM_PORT:-8001}
VLLM_DTYPE=${VLLM_DTYPE:-auto}
VLLM_MAX_MODEL_LEN=${VLLM_MAX_MODEL_LEN:-8192}
VLLM_GPU_MEMORY_UTILIZATION=${VLLM_GPU_MEMORY_UTILIZATION:-0.85}
VLLM=${VLLM:-vllm}

if [ -n "${VLLM_API_KEY_FILE:-}" ]; then
  VLLM_API_KEY=$(<"$VLLM_API_KEY_FILE")
fi
if [ -n "${VLLM_API_KEY:-}" ]; then
  # The same as --api-key: vLLM falls back to VLLM_API_KEY from its environment, which keeps
  # the key out of the process list. It guards the /v1 routes only, so keep the port private.
  export VLLM_API_KEY
elif [ "$VLLM_HOST" != 127.0.0.1 ] && [ "$VLLM_HOST" != localhost ]; then
  echo "Warning: serving on $VLLM_HOST without VLLM_API_KEY: anyone who reaches the port can use it." >&2
fi

# Prefix caching: every prompt opens with the same rules, so their KV cache is reused.
# shellcheck disable=SC2086  # VLLM_EXTRA_ARGS is a list of flags
exec "$VLLM" serve "$LLM_MODEL" \
  --host "$VLLM_HOST" --port "$VLLM_PORT" \
  --dtype "$VLLM_DTYPE" \
  --max-model-len "$VLLM_MAX_MODEL_LEN" \
  --gpu-memory-utilization "$VLLM_GPU_MEMORY_UTILIZATION" \
  --enable-prefix-caching \
  ${VLLM_EXTRA_ARGS:-}
