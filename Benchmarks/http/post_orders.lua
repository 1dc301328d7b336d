local tokens = {}
for t in string.gmatch(os.getenv("TOKENS"), "[^,]+") do table.insert(tokens, t) end
local n = 0
local body = '{"lines":[{"sku":"cocoa","quantity":1}],"address":{"name":"Ada","phone":"+44 20 7946 0000","line1":"1 Loop","city":"London","postcode":"SW1"},"paymentMethod":"card","delivery":"standard"}'
request = function()
  n = n + 1
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1]
  return wrk.format("POST", "/orders", headers, body)
end
