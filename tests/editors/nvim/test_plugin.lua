-- The Neovim plugin (plugin/editors/nvim) as a user has it: setup() starts rwkv-lsp for a C
-- buffer; a suggestion shows as ghost text (an extmark with virt_text), <Tab> accepts it, typing
-- hides it, leaving insert mode hides it. First through the plugin's functions, then through
-- real keys typed in insert mode (TextChangedI, the debounce timer, the <Tab> mapping).
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":h") .. "/harness.lua")

vim.opt.runtimepath:prepend(H.env("RWKV_LSP_NVIM_PLUGIN", "plugin/editors/nvim"))
vim.o.virtualedit = "onemore" -- the cursor may sit after the last character outside insert mode

local rwkv = require("rwkv_lsp")
local ghost = require("rwkv_lsp.ghost")

local function ghost_marks(buf)
  return vim.api.nvim_buf_get_extmarks(buf, ghost.ns, 0, -1, { details = true })
end

local function line(buf, row)
  return vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1]
end

-- Steps run from timers so that Neovim's main loop processes the typed keys in between.
local function poll(what, cond, timeout_ms, next_step)
  local waited = 0
  local function tick()
    local ok, done = pcall(cond)
    if ok and done then
      return next_step()
    end
    waited = waited + 25
    if waited > timeout_ms then
      H.check(false, what .. " (timed out)")
      return H.finish()
    end
    vim.defer_fn(tick, 25)
  end
  vim.defer_fn(tick, 25)
end

local function keys(k)
  -- "t": as if typed; "m": mappings apply (the plugin's <Tab>).
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(k, true, false, true), "mt", false)
end

H.run(function()
  rwkv.setup({
    cmd = H.server_cmd(),
    settings = { maxTokens = 24, temperature = 0 },
    inline = "ghost", -- also on Neovim 0.12+, where "auto" would use the built-in inline completion
    debounce_ms = 30,
  })
  H.check(vim.fn.maparg("<Tab>", "i") ~= "", "setup mapped <Tab> in insert mode")
  local buf = H.open_file("sum.c", "int sum(const int* v, int n) {\n    int total = 0;\n    for (int i = 0; i < n; ", "c")
  H.check(H.wait(30000, function()
    return ghost.is_enabled(buf)
  end), "the FileType autocommand started rwkv-lsp and attached it")

  -- 1. The plugin's functions: ask, show, read the extmark back, accept.
  local row = 2
  local before = line(buf, row)
  vim.api.nvim_win_set_cursor(0, { row + 1, #before })
  H.check(ghost.request(buf, true), "a suggestion was requested")
  H.check(H.wait(60000, function()
    return ghost.current(buf) ~= nil
  end), "a suggestion arrived")
  local s = ghost.current(buf)
  local marks = ghost_marks(buf)
  H.check(#marks == 1, "one ghost-text extmark", marks)
  if s and marks[1] then
    local mark = marks[1]
    H.check(mark[2] == row and mark[3] == #before, "the extmark sits at the cursor", mark)
    local details = mark[4]
    H.check(details.virt_text and details.virt_text[1][1] == ghost.display(s.lines[1]), "its virt_text is the suggestion's first line",
      details)
    H.check(details.virt_text and details.virt_text[1][2] == "Comment", "drawn with the ghost highlight")
    if #s.lines > 1 then
      H.check(details.virt_lines and #details.virt_lines == #s.lines - 1, "the other lines are virt_lines", details)
    end
    H.check(s.text:match("%S") ~= nil, "the suggestion is not blank", s.text)
    H.check(ghost.accept(buf), "accepted")
    H.check(line(buf, row) == before .. s.lines[1], "the buffer holds the accepted text", line(buf, row))
    H.check(#ghost_marks(buf) == 0, "the ghost text is gone after accepting")
    local cursor = vim.api.nvim_win_get_cursor(0)
    H.check(cursor[1] == row + #s.lines, "the cursor moved to the end of the insertion", cursor)
  end
  H.check(not ghost.accept(buf), "nothing to accept twice")

  -- 2. Real keys in insert mode. A second autocommand (after the plugin's) sees whether typing hid
  -- the suggestion.
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { "int scale(int x) {", "    return x *" })
  local hidden_on_typing = {}
  vim.api.nvim_create_autocmd("TextChangedI", {
    buffer = buf,
    callback = function()
      table.insert(hidden_on_typing, ghost.current(buf) == nil and #ghost_marks(buf) == 0)
    end,
  })
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  keys("A 2")
  poll("a suggestion appears while typing", function()
    return vim.api.nvim_get_mode().mode == "i" and ghost.current(buf) ~= nil and #ghost_marks(buf) == 1
  end, 60000, function()
    H.check(#hidden_on_typing >= 1, "TextChangedI fired for the typed keys")
    keys(" +") -- still inside the expression: any model has something to add
    poll("typing hides the suggestion and asks again", function()
      return #hidden_on_typing >= 2
    end, 10000, function()
      H.check(hidden_on_typing[#hidden_on_typing] == true, "the suggestion was hidden when a key was typed")
      poll("a new suggestion appears", function()
        return ghost.current(buf) ~= nil
      end, 60000, function()
        keys("<Esc>")
        poll("leaving insert mode hides it", function()
          return vim.api.nvim_get_mode().mode == "n"
        end, 10000, function()
          H.check(ghost.current(buf) == nil and #ghost_marks(buf) == 0, "no ghost text after <Esc>")
          keys("A x")
          poll("a suggestion after typing on", function()
            return vim.api.nvim_get_mode().mode == "i" and ghost.current(buf) ~= nil
          end, 60000, function()
            local s2 = ghost.current(buf)
            local typed = line(buf, 1)
            keys("<Tab>")
            poll("<Tab> accepts", function()
              return line(buf, 1) ~= typed
            end, 10000, function()
              H.check(line(buf, 1) == typed .. s2.lines[1], "<Tab> inserted the suggestion", line(buf, 1))
              keys("<Esc>")
              -- <Tab> without a suggestion is a plain <Tab>.
              local lines_before = vim.api.nvim_buf_line_count(buf)
              keys("o<Tab>x<Esc>")
              poll("a plain <Tab>", function()
                return vim.api.nvim_get_mode().mode == "n" and vim.api.nvim_buf_line_count(buf) > lines_before
              end, 10000, function()
                local last = line(buf, vim.api.nvim_buf_line_count(buf) - 1)
                H.check(last:match("x$") ~= nil and (last:match("^\t") or last:match("^ ")) ~= nil,
                  "<Tab> fell through to the key when nothing was shown", last)
                H.finish()
              end)
            end)
          end)
        end)
      end)
    end)
  end)
end)
