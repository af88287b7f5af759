-- Loaded at startup when this folder is on 'runtimepath': nothing starts until
-- require("rwkv_lsp").setup({...}) is called from the user's configuration.
if vim.g.loaded_rwkv_lsp then
  return
end
vim.g.loaded_rwkv_lsp = 1
