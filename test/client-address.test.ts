import { describe, expect, it } from "vitest";
import { clientKey } from "../api/client-address.js";

// The per-client limits' key (issue 13): an IPv6 host that walks its /64 is still one client.
describe("a client's key for the per-client limits", () => {
  it("is an IPv4 address as it is, also when written as IPv6", () => {
    expect(clientKey("203.0.113.7")).toBe("203.0.113.7");
    expect(clientKey("::ffff:203.0.113.7")).toBe("203.0.113.7");
  });

  it("is an IPv6 address's /64, however it is written", () => {
    const key = "2001:db8:1:2::/64";
    for (const a of [
      "2001:db8:1:2::1",
      "2001:db8:1:2:aaaa:bbbb:cccc:dddd",
      "2001:0db8:0001:0002:ffff:1:2:3",
      "2001:DB8:1:2::9",
      "2001:db8:1:2::5.6.7.8",
    ])
      expect(clientKey(a)).toBe(key);
    expect(clientKey("2001:db8:1:3::1")).not.toBe(key);
    expect(clientKey("2001:db8::")).toBe("2001:db8:0:0::/64");
    expect(clientKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
  });

  it("leaves anything else alone", () => {
    expect(clientKey("unknown")).toBe("unknown");
  });
});
