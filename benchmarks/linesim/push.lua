-- wrk script: valid push requests to the LINE double (PUSH_BODY=flex: a text plus a Flex bubble with quick reply).
-- usage: wrk -t2 -c64 -d15s -s push.lua http://127.0.0.1:8081
wrk.method = "POST"
wrk.path = "/v2/bot/message/push"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("LINESIM_ACCESS_TOKEN") or "simulator-access-token")
local text_body = '{"to":"U4af4980629a0b6c0d1e2f3a4b5c6d7e8","messages":[{"type":"text","text":"Hello from the load test"}]}'
local flex_body = '{"to":"U4af4980629a0b6c0d1e2f3a4b5c6d7e8","messages":[{"type":"text","text":"Here is your order"},{"type":"flex","altText":"order","contents":{"type":"bubble","hero":{"type":"image","url":"https://example.com/cafe.png","size":"full","aspectRatio":"20:13","aspectMode":"cover"},"body":{"type":"box","layout":"vertical","spacing":"md","contents":[{"type":"text","text":"Brown Cafe","weight":"bold","size":"xl"},{"type":"box","layout":"baseline","contents":[{"type":"text","text":"Place","color":"#aaaaaa","size":"sm","flex":1},{"type":"text","text":"Shinjuku, Tokyo","wrap":true,"size":"sm","flex":5}]},{"type":"separator"}]},"footer":{"type":"box","layout":"vertical","spacing":"sm","contents":[{"type":"button","style":"primary","action":{"type":"postback","label":"Reserve","data":"reserve=1"}},{"type":"button","style":"link","action":{"type":"uri","label":"Website","uri":"https://example.com"}}]}},"quickReply":{"items":[{"type":"action","action":{"type":"message","label":"Menu","text":"menu"}}]}}]}'
wrk.body = os.getenv("PUSH_BODY") == "flex" and flex_body or text_body

done = function(summary, latency, requests)
  io.write(string.format("requests/s: %.0f\n", summary.requests / (summary.duration / 1e6)))
  io.write(string.format("p50 latency: %.2f ms, p99 latency: %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
  io.write(string.format("non-2xx: %d, socket errors: %d\n",
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
