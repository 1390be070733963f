import { Agent, request } from "node:http";
import { connect } from "node:net";
import type { FuzzRequest, RawRequest } from "./fuzz-requests.js";

export interface Answer {
  status: number;
  contentType: string;
  body: string;
}

// A request the server leaves unanswered this long is a failure, not a hang of the suite.
const ANSWER_MS = 10_000;

/** Sends over kept-alive connections (at most `sockets` at once). */
export function sender(base: string, sockets: number) {
  const url = new URL(base);
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  const send = (req: FuzzRequest) =>
    new Promise<Answer>((resolve, reject) => {
      const headers: Record<string, string> = { ...req.headers };
      if (req.body !== undefined) headers["content-length"] = String(Buffer.byteLength(req.body));
      const r = request(
        {
          host: url.hostname,
          port: url.port,
          method: req.method,
          path: req.path,
          headers,
          agent,
          timeout: ANSWER_MS,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              contentType: String(res.headers["content-type"] ?? ""),
              body: Buffer.concat(chunks).toString("utf8"),
            }),
          );
          res.on("error", reject);
        },
      );
      r.on("timeout", () => r.destroy(new Error(`no answer in ${ANSWER_MS} ms`)));
      r.on("error", reject);
      r.end(req.body);
    });
  return { send, close: () => agent.destroy() };
}

/** Writes raw bytes on a fresh connection and reads one answer (status line, headers, Content-Length body). */
export function sendRaw(base: string, req: RawRequest): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer in ${ANSWER_MS} ms`));
    }, ANSWER_MS);
    const finish = () => {
      const text = buf.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return false;
      const head = text.slice(0, end);
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? Number.NaN);
      const body = buf.subarray(end + 4);
      if (!Number.isNaN(length) && body.length < length) return false;
      clearTimeout(timer);
      socket.destroy();
      resolve({
        status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0),
        contentType: /\r\ncontent-type:\s*([^\r]*)/i.exec(head)?.[1] ?? "",
        body: body.subarray(0, Number.isNaN(length) ? undefined : length).toString("utf8"),
      });
      return true;
    };
    socket.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      finish();
    });
    socket.on("close", () => {
      if (!finish()) {
        clearTimeout(timer);
        reject(new Error(`connection closed without an answer (${buf.length} bytes)`));
      }
    });
    socket.on("error", () => {});
    socket.write(req.raw);
  });
}
