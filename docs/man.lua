-- docs/man.lua - pandoc Lua filter for the man pages (make man; pandoc 2.17+).
--
--  * A div ::: {include="FILE"} ::: is replaced by the Markdown file FILE
--    (relative to the page's source), its level-1 title dropped; so
--    faultline-scenario.5.md wraps docs/scenario.md instead of copying it.
--  * A table becomes a definition list (one item per row: the first cell,
--    then "column: cell" for the others, a "meaning" column bare): man's
--    tbl cannot fit four wide columns into 80, the list reads well at any width.
--  * A link to a local file (docs/x.md, ../examples) keeps only its text:
--    a man page cannot follow it. Web links keep their address.

local function dir_of(path)
  return path:match('^(.*)/[^/]*$') or '.'
end

local function is_local(target)
  return not target:match('^%a[%w+.-]*:') and not target:match('^#')
end

-- the inlines of a cell (its blocks flattened), or nil when it is empty
local function cell_inlines(cell)
  local out = pandoc.List()
  for _, b in ipairs(cell.contents) do
    if b.content then
      if #out > 0 then out:insert(pandoc.Space()) end
      out:extend(b.content)
    end
  end
  if #out == 0 then return nil end
  return out
end

local function Table(tbl)
  local heads = {}
  if tbl.head and #tbl.head.rows > 0 then
    for i, c in ipairs(tbl.head.rows[1].cells) do
      heads[i] = pandoc.utils.stringify(c.contents)
    end
  end
  local items = pandoc.List()
  for _, body in ipairs(tbl.bodies) do
    for _, row in ipairs(body.body) do
      local term = cell_inlines(row.cells[1]) or pandoc.List()
      local def = pandoc.List()
      local fields = pandoc.List()
      for i = 2, #row.cells do
        local inl = cell_inlines(row.cells[i])
        local h = heads[i] or ''
        if inl then
          if h:match('^meaning') then
            def:insert(pandoc.Para(inl))
          else
            local f = pandoc.List({ pandoc.Emph({ pandoc.Str(h .. ':') }), pandoc.Space() })
            f:extend(inl)
            if #fields > 0 then fields:insert(pandoc.Str(';')); fields:insert(pandoc.Space()) end
            fields:extend(f)
          end
        end
      end
      if #fields > 0 then def:insert(1, pandoc.Para(fields)) end
      items:insert({ term, { def } })
    end
  end
  return pandoc.DefinitionList(items)
end

local function Link(l)
  if is_local(l.target) then return l.content end
end

local function Div(div)
  local file = div.attributes['include']
  if not file then return nil end
  local base = dir_of(PANDOC_STATE.input_files[1] or '.')
  local fh = assert(io.open(base .. '/' .. file, 'r'), 'man.lua: cannot open ' .. base .. '/' .. file)
  local text = fh:read('a')
  fh:close()
  local doc = pandoc.read(text, 'markdown')
  local blocks = pandoc.List()
  for _, b in ipairs(doc.blocks) do
    if not (b.t == 'Header' and b.level == 1) then blocks:insert(b) end
  end
  -- its level-2 headings become subsections (.SS) of the including section
  return pandoc.walk_block(pandoc.Div(blocks), { Table = Table, Link = Link }).content
end

return {
  { Div = Div },
  { Table = Table, Link = Link },
}
