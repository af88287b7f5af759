-- Neovim's own completion entry point for LSP, 'omnifunc' = vim.lsp.omnifunc (<C-x><C-o> in insert
-- mode, as in Debian's 0.7.2), against rwkv-lsp: inside a word the first item replaces the word with
-- what the item's edit says. The keys go through the main loop, so the checks run from timers.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":h") .. "/harness.lua")

H.run(function()
  local id, client = H.start_server()
  local buf = H.open_file("add.py", "def add(a, b):\n    return a", "python")
  H.check(vim.lsp.buf_attach_client(buf, id), "the buffer is attached")

  -- What the item says, asked directly at the same place: "a" replaced by "a" + the suggestion.
  local expected
  client.request("textDocument/completion", {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    position = { line = 1, character = 12 },
  }, function(_, result)
    local items = result and (result.items or result) or {}
    local edit = items[1] and items[1].textEdit
    if edit then
      H.check(edit.range.start.character == 11 and edit.range["end"].character == 12, "the edit covers the word", edit)
      expected = "    return " .. edit.newText:gsub("\n.*", "")
    end
  end, buf)
  H.check(H.wait(30000, function()
    return expected ~= nil
  end), "a completion item for the word before the cursor")

  vim.api.nvim_buf_set_option(buf, "omnifunc", "v:lua.vim.lsp.omnifunc")
  vim.o.completeopt = "menu" -- the first match is inserted
  vim.api.nvim_win_set_cursor(0, { 2, 12 })
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes("a<C-x><C-o>", true, false, true), "nt", false)
  local tries = 0
  local function check()
    tries = tries + 1
    local line = vim.api.nvim_buf_get_lines(buf, 1, 2, false)[1]
    if line == "    return a" and tries < 100 then
      return vim.defer_fn(check, 100)
    end
    vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes("<Esc>", true, false, true), "nt", false)
    H.check(expected ~= nil and line == expected, "<C-x><C-o> inserts the item over the word", { line = line, expected = expected })
    vim.lsp.stop_client(id)
    vim.defer_fn(H.finish, 200)
  end
  vim.defer_fn(check, 100)
end)
