/* Built against the installed header and library (CMake package or pkg-config). */
#include <rwkv_lsp.h>

#include <stdio.h>

int main(void) {
  if (rwkv_lsp_api_version() != RWKV_LSP_API_VERSION) return 1;
  rwkv_lsp_model_params p = rwkv_lsp_model_default_params();
  rwkv_lsp_model* m = NULL;
  p.path = "/nonexistent.pth";
  if (rwkv_lsp_model_load(&p, &m) != RWKV_LSP_ERR_IO) return 1;
  printf("rwkv-lsp %s: %s\n", rwkv_lsp_version_string(), rwkv_lsp_last_error());
  return 0;
}
