import * as http from 'node:http';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One HTTP request with exactly these headers (node:http: fetch will not send a Host of our
 * choosing, nor a body without a Content-Type).
 */
export function request(
  url: string,
  {
    method = 'GET',
    headers = {},
    body
  }: { method?: string; headers?: Record<string, string>; body?: string }
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, res => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', chunk => (text += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text })
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Jupyter's login cookie and `_xsrf` cookie as a browser on `base` would hold them. */
export async function loginCookies(
  base: string,
  token: string
): Promise<{ cookie: string; xsrf: string }> {
  const pairs = (res: RawResponse) =>
    ([] as string[]).concat(res.headers['set-cookie'] ?? []).map(c => c.split(';')[0]);
  const login = pairs(await request(`${base}/api/status?token=${token}`, {}));
  const page = pairs(await request(`${base}/login`, {}));
  const xsrfPair = page.find(c => c.startsWith('_xsrf='));
  if (!login.some(c => c.startsWith('username-')) || !xsrfPair) {
    throw new Error(`no login or _xsrf cookie from ${base}`);
  }
  return { cookie: [...login, xsrfPair].join('; '), xsrf: xsrfPair.slice('_xsrf='.length) };
}
