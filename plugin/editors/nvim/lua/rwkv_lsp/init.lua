-- rwkv-lsp for Neovim: starts the rwkv-lsp language server through vim.lsp and shows its inline
-- suggestions. Neovim 0.12+ has textDocument/inlineCompletion built in (vim.lsp.inline_completion),
-- which is used when present; older versions (0.7.2 in Debian 12 and up) get ghost text drawn by
-- lua/rwkv_lsp/ghost.lua with extmarks.
--
--   require("rwkv_lsp").setup({ settings = { model = "/path/to/model.pth" } })
--
-- Works on Neovim 0.7.2 and later: only APIs that exist there are used unconditionally.
local M = {}

M.defaults = {
  -- The server command; arguments become default settings (rwkv-lsp serve --model PATH ...).
  cmd = { "rwkv-lsp" },
  -- initializationOptions and workspace/didChangeConfiguration: model, vocab, threads, maxTokens,
  -- maxLines, temperature, topP, timeBudgetMs, checkpointSpacing, memoryBudgetMb (see README).
  settings = {},
  -- nil: every buffer that has a file name and a filetype; else a list of filetypes.
  filetypes = nil,
  root_markers = { ".git", ".hg", "compile_commands.json", "package.json", "Cargo.toml", "go.mod", "pyproject.toml" },
  -- "auto": built-in inline completion where Neovim has it (0.12+), else ghost text; "ghost": always
  -- ghost text; false: no inline suggestions (completion items only).
  inline = "auto",
  keys = {
    accept = "<Tab>",   -- insert mode: accept the suggestion (falls through to the key when none shows)
    dismiss = "<C-]>",  -- insert mode: hide the suggestion
    trigger = "<M-\\>", -- insert mode: ask now (an "invoked" request: several candidates)
  },
  debounce_ms = 120,    -- wait after typing before asking
  hl_group = "Comment", -- how ghost text looks
  -- Set 'omnifunc' to vim.lsp.omnifunc so <C-x><C-o> lists the server's textDocument/completion item.
  omnifunc = true,
}

M.config = vim.deepcopy(M.defaults)
local clients_by_root = {} -- Neovim < 0.8: one client per root, reused across buffers

local function has_builtin_inline()
  return vim.lsp.inline_completion ~= nil and type(vim.lsp.inline_completion.enable) == "function"
end

function M.inline_mode()
  local mode = M.config.inline
  if mode == false then
    return "none"
  end
  if mode == "auto" and has_builtin_inline() then
    return "builtin"
  end
  return "ghost"
end

local function find_root(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  local dir = name ~= "" and vim.fn.fnamemodify(name, ":p:h") or vim.loop.cwd()
  local current = dir
  while current and current ~= "" do
    for _, marker in ipairs(M.config.root_markers) do
      if vim.loop.fs_stat(current .. "/" .. marker) then
        return current
      end
    end
    local parent = vim.fn.fnamemodify(current, ":h")
    if parent == current then
      break
    end
    current = parent
  end
  return dir
end

local function client_config(root)
  return {
    name = "rwkv-lsp",
    cmd = M.config.cmd,
    root_dir = root,
    init_options = M.config.settings,
    settings = { ["rwkv-lsp"] = M.config.settings },
    -- Send every change at once: a suggestion request must see the text as typed.
    flags = { debounce_text_changes = 0, allow_incremental_sync = true },
    on_attach = function(client, bufnr)
      M.on_attach(client, bufnr)
    end,
  }
end

-- Starts (or reuses) the client for `bufnr` and attaches it. Returns the client id.
function M.attach(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local root = find_root(bufnr)
  if vim.lsp.start then
    return vim.lsp.start(client_config(root), { bufnr = bufnr })
  end
  local id = clients_by_root[root]
  local client = id and vim.lsp.get_client_by_id(id)
  if not client or client.is_stopped() then
    id = vim.lsp.start_client(client_config(root))
    clients_by_root[root] = id
  end
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
  return id
end

function M.on_attach(client, bufnr)
  if M.config.omnifunc then
    vim.api.nvim_buf_set_option(bufnr, "omnifunc", "v:lua.vim.lsp.omnifunc")
  end
  local mode = M.inline_mode()
  if mode == "builtin" then
    vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
  elseif mode == "ghost" then
    require("rwkv_lsp.ghost").enable(bufnr, client.id)
  end
end

-- The key mappings work in every buffer (they fall through to the key where nothing shows).
local function map_keys()
  local keys = M.config.keys or {}
  local function feed(key)
    return vim.api.nvim_replace_termcodes(key, true, false, true)
  end
  if keys.accept then
    vim.keymap.set("i", keys.accept, function()
      if M.inline_mode() == "builtin" then
        if vim.lsp.inline_completion.get() then
          return ""
        end
        return feed(keys.accept)
      end
      if require("rwkv_lsp.ghost").accept_later() then
        return ""
      end
      return feed(keys.accept)
    end, { expr = true, silent = true, desc = "rwkv-lsp: accept the suggestion" })
  end
  if keys.dismiss then
    vim.keymap.set("i", keys.dismiss, function()
      if M.inline_mode() == "ghost" and require("rwkv_lsp.ghost").dismiss() then
        return ""
      end
      return feed(keys.dismiss)
    end, { expr = true, silent = true, desc = "rwkv-lsp: hide the suggestion" })
  end
  if keys.trigger then
    vim.keymap.set("i", keys.trigger, function()
      if M.inline_mode() == "ghost" then
        require("rwkv_lsp.ghost").request(vim.api.nvim_get_current_buf(), true)
      end
    end, { silent = true, desc = "rwkv-lsp: ask for a suggestion now" })
  end
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  require("rwkv_lsp.ghost").configure(M.config)
  local group = vim.api.nvim_create_augroup("rwkv_lsp", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    callback = function(args)
      local ft = vim.api.nvim_buf_get_option(args.buf, "filetype")
      if vim.api.nvim_buf_get_option(args.buf, "buftype") ~= "" or vim.api.nvim_buf_get_name(args.buf) == "" then
        return
      end
      if M.config.filetypes and not vim.tbl_contains(M.config.filetypes, ft) then
        return
      end
      M.attach(args.buf)
    end,
  })
  map_keys()
  vim.api.nvim_create_user_command("RwkvLspStatus", function()
    for _, client in pairs((vim.lsp.get_clients or vim.lsp.get_active_clients)()) do
      if client.name == "rwkv-lsp" then
        client.request("rwkv/status", {}, function(err, result)
          print(vim.inspect(err or result))
        end)
      end
    end
  end, { desc = "rwkv-lsp: model, backend, documents and the last completion's timings" })
end

return M
