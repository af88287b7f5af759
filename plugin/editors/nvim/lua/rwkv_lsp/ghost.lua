-- Ghost text for Neovim versions without built-in inline completion (0.7 .. 0.11): asks the
-- server for textDocument/inlineCompletion as the user types (debounced, the previous request
-- cancelled), draws the first item as extmarks (the first line at the cursor, the others as
-- virtual lines below), accepts it with a key, and hides it when the user types on, moves away or
-- leaves insert mode.
local M = {}

M.ns = vim.api.nvim_create_namespace("rwkv_lsp_ghost")

local config = { debounce_ms = 120, hl_group = "Comment" }
local state = {} -- per buffer: client_id, timer, request = {client, id}, seq, suggestion
local has_inline_virt_text = vim.fn.has("nvim-0.10") == 1

function M.configure(cfg)
  config = cfg
end

local function buf_state(bufnr)
  local s = state[bufnr]
  if not s then
    s = { seq = 0 }
    state[bufnr] = s
  end
  return s
end

local function client_of(bufnr)
  local s = state[bufnr]
  return s and s.client_id and vim.lsp.get_client_by_id(s.client_id)
end

-- (line, byte column) <-> LSP character in the client's position encoding.
local function to_character(line_text, col, encoding)
  if encoding == "utf-8" then
    return col
  end
  local utf32, utf16 = vim.str_utfindex(line_text, col)
  return encoding == "utf-32" and utf32 or utf16
end

local function to_byte_col(line_text, character, encoding)
  if encoding == "utf-8" then
    return math.min(character, #line_text)
  end
  local ok, col = pcall(vim.str_byteindex, line_text, character, encoding ~= "utf-32")
  return ok and col or #line_text
end

local function cancel_request(s)
  if s.request then
    local client = vim.lsp.get_client_by_id(s.request.client_id)
    if client then
      client.cancel_request(s.request.id)
    end
    s.request = nil
  end
end

local function stop_timer(s)
  if s.timer then
    s.timer:stop()
    s.timer:close()
    s.timer = nil
  end
end

-- True once M.enable ran for `bufnr` (the client attached).
function M.is_enabled(bufnr)
  local s = state[bufnr or vim.api.nvim_get_current_buf()]
  return s ~= nil and s.enabled == true
end

-- The suggestion shown in `bufnr` ({row, col, end_col, text, lines}) or nil.
function M.current(bufnr)
  local s = state[bufnr or vim.api.nvim_get_current_buf()]
  return s and s.suggestion
end

local function clear(bufnr)
  if vim.api.nvim_buf_is_valid(bufnr) then
    vim.api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  end
  local s = state[bufnr]
  if s then
    s.suggestion = nil
  end
end

-- Hides the suggestion and forgets pending requests. Returns true when one was shown.
function M.dismiss(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local s = state[bufnr]
  if not s then
    return false
  end
  local shown = s.suggestion ~= nil
  s.seq = s.seq + 1
  stop_timer(s)
  cancel_request(s)
  clear(bufnr)
  return shown
end

-- How a line of suggested text is drawn: tabs as spaces ('tabstop'), other control characters as
-- "?" (virtual text would show them raw). The text inserted on accept is the suggestion itself.
function M.display(text)
  local tab = string.rep(" ", vim.o.tabstop > 0 and vim.o.tabstop or 8)
  return (text:gsub("\t", tab):gsub("%c", "?"))
end

local function show(bufnr, suggestion)
  clear(bufnr)
  local lines = suggestion.lines
  local first = { { M.display(lines[1]), config.hl_group } }
  local opts = { virt_text = first, hl_mode = "combine" }
  if has_inline_virt_text then
    opts.virt_text_pos = "inline"
  else
    -- Before 0.10 there is no inline virtual text: at the end of the line "overlay" draws exactly
    -- where the text would go; mid-line it covers the closing brackets the suggestion re-types.
    opts.virt_text_pos = "overlay"
  end
  if #lines > 1 then
    local below = {}
    for i = 2, #lines do
      table.insert(below, { { M.display(lines[i]), config.hl_group } })
    end
    opts.virt_lines = below
  end
  suggestion.extmark = vim.api.nvim_buf_set_extmark(bufnr, M.ns, suggestion.row, suggestion.col, opts)
  buf_state(bufnr).suggestion = suggestion
end

local function first_item(result)
  if type(result) ~= "table" then
    return nil
  end
  local items = result.items or result
  local item = items[1]
  if type(item) ~= "table" then
    return nil
  end
  local text = item.insertText
  if type(text) == "table" then
    text = text.value -- a StringValue (snippet): shown and inserted as plain text
  end
  if type(text) ~= "string" or text:match("^%s*$") then
    return nil
  end
  return text, item.range
end

-- Asks the server for a suggestion at the cursor of `bufnr` (its current window) now.
-- invoked: the user asked (several candidates are computed; the first is shown).
function M.request(bufnr, invoked)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local client = client_of(bufnr)
  if not client then
    return false
  end
  local s = buf_state(bufnr)
  stop_timer(s)
  cancel_request(s)
  s.seq = s.seq + 1
  local seq = s.seq
  local win = vim.api.nvim_get_current_win()
  if vim.api.nvim_win_get_buf(win) ~= bufnr then
    return false
  end
  local cursor = vim.api.nvim_win_get_cursor(win)
  local row, col = cursor[1] - 1, cursor[2]
  local line_text = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
  local encoding = client.offset_encoding or "utf-16"
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    position = { line = row, character = to_character(line_text, col, encoding) },
    context = { triggerKind = invoked and 1 or 2 },
  }
  local ok, id = client.request("textDocument/inlineCompletion", params, function(err, result)
    if s.request and s.request.id == id then
      s.request = nil
    end
    if err or seq ~= s.seq or not vim.api.nvim_buf_is_valid(bufnr) then
      return
    end
    -- Only where the request was made: the same text and the same cursor.
    if vim.api.nvim_buf_get_changedtick(bufnr) ~= tick then
      return
    end
    local w = vim.api.nvim_get_current_win()
    if vim.api.nvim_win_get_buf(w) ~= bufnr then
      return
    end
    local now = vim.api.nvim_win_get_cursor(w)
    if now[1] - 1 ~= row or now[2] ~= col then
      return
    end
    local text, range = first_item(result)
    if not text then
      return
    end
    local end_col = col
    if range and range["end"] and range["end"].line == row then
      end_col = math.max(col, to_byte_col(line_text, range["end"].character, encoding))
    end
    show(bufnr, { row = row, col = col, end_col = end_col, text = text, lines = vim.split(text, "\n", true) })
  end, bufnr)
  if ok and id then
    s.request = { client_id = client.id, id = id }
  end
  return ok
end

-- Inserts the suggestion shown in `bufnr` (replacing the closers it re-types) and moves the
-- cursor after it. Returns true when there was one.
function M.accept(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local s = state[bufnr]
  local suggestion = s and s.suggestion
  if not suggestion then
    return false
  end
  M.dismiss(bufnr)
  local lines = suggestion.lines
  vim.api.nvim_buf_set_text(bufnr, suggestion.row, suggestion.col, suggestion.row, suggestion.end_col, lines)
  local last_row = suggestion.row + #lines - 1
  local last_col = (#lines == 1 and suggestion.col or 0) + #lines[#lines]
  local win = vim.api.nvim_get_current_win()
  if vim.api.nvim_win_get_buf(win) == bufnr then
    vim.api.nvim_win_set_cursor(win, { last_row + 1, last_col })
  end
  return true
end

-- For expression mappings (no buffer changes allowed while they run): true when a suggestion is
-- shown, and it is inserted right after the mapping returns.
function M.accept_later()
  local bufnr = vim.api.nvim_get_current_buf()
  if not M.current(bufnr) then
    return false
  end
  vim.schedule(function()
    M.accept(bufnr)
  end)
  return true
end

local function schedule_request(bufnr)
  local s = buf_state(bufnr)
  stop_timer(s)
  s.timer = vim.loop.new_timer()
  s.timer:start(config.debounce_ms or 120, 0, vim.schedule_wrap(function()
    stop_timer(s)
    if vim.api.nvim_buf_is_valid(bufnr) and vim.api.nvim_get_current_buf() == bufnr then
      local mode = vim.api.nvim_get_mode().mode
      if mode:sub(1, 1) == "i" then
        M.request(bufnr, false)
      end
    end
  end))
end

-- Shows suggestions in `bufnr` as the user types, from the client `client_id`.
function M.enable(bufnr, client_id)
  local s = buf_state(bufnr)
  s.client_id = client_id
  if s.enabled then
    return
  end
  s.enabled = true
  local group = vim.api.nvim_create_augroup("rwkv_lsp_ghost_" .. bufnr, { clear = true })
  vim.api.nvim_create_autocmd({ "TextChangedI", "TextChangedP" }, {
    group = group,
    buffer = bufnr,
    callback = function()
      M.dismiss(bufnr) -- typing hides what was suggested for the text before it
      schedule_request(bufnr)
    end,
  })
  vim.api.nvim_create_autocmd("CursorMovedI", {
    group = group,
    buffer = bufnr,
    callback = function()
      local suggestion = s.suggestion
      local cursor = vim.api.nvim_win_get_cursor(0)
      if suggestion and (cursor[1] - 1 ~= suggestion.row or cursor[2] ~= suggestion.col) then
        M.dismiss(bufnr)
      end
      if not s.suggestion then
        schedule_request(bufnr)
      end
    end,
  })
  vim.api.nvim_create_autocmd({ "InsertLeave", "BufLeave" }, {
    group = group,
    buffer = bufnr,
    callback = function()
      M.dismiss(bufnr)
    end,
  })
  vim.api.nvim_create_autocmd({ "BufDelete", "BufWipeout" }, {
    group = group,
    buffer = bufnr,
    callback = function()
      M.dismiss(bufnr)
      state[bufnr] = nil
      pcall(vim.api.nvim_del_augroup_by_id, group)
    end,
  })
end

return M
