# Shared by demo.sh and bench.sh: run inside the sandbox (make demo / make bench).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ "${DOCKERIPV6_SANDBOX:-}" != 1 ]; then
  echo "run me through the sandbox: make demo / make bench" >&2; exit 2
fi
work=$(mktemp -d /tmp/dockeripv6-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
# Terraform uses the provider just built, never a registry.
cat > "$work/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "dockeripv6/dockeripv6" = "$root/bin"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE="$work/terraformrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
tf() { terraform "$@" -no-color 2>&1 | grep -vE 'Provider development overrides|dev_overrides|The following provider|dockeripv6/dockeripv6 in|Skip terraform init|may have unexpected|published releases\.|^ - |^╷|^╵|^│$|^\s*$' || true; }
tfq() { terraform "$@" -no-color >"$work/last.log" 2>&1 || { cat "$work/last.log"; return 1; }; }
ms() { date +%s%3N; }
