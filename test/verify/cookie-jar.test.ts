import { CookieJar } from '../../lib/verify/cookie-jar';

describe('cookie jar', () => {
  // Loopback, as the local topology: over plain HTTP it is not a secure origin here.
  const HTTP = 'http://127.0.0.1:8080/';
  const HTTPS = 'https://edge.example/';

  test('keeps a Secure cookie only over HTTPS, as a browser does', () => {
    const overHttp = new CookieJar();
    overHttp.store(HTTP, [
      'route=a; Path=/; Secure; HttpOnly',
      'session=x; Path=/',
    ]);
    expect(overHttp.header(HTTP)).toBe('session=x');
    const overHttps = new CookieJar();
    overHttps.store(HTTPS, ['route=a; Path=/; Secure']);
    expect(overHttps.header(HTTPS)).toBe('route=a');
  });

  test('Max-Age=0 and a past Expires delete a cookie; a new value replaces the old', () => {
    const jar = new CookieJar();
    jar.store(HTTP, ['a=1', 'b=2', 'c=3']);
    jar.store(HTTP, [
      'a=; Max-Age=0',
      'b=; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
      'c=4',
    ]);
    expect(jar.header(HTTP)).toBe('c=4');
    expect(jar.get(HTTP, 'a')).toBeUndefined();
  });

  test('a cookie is sent only to its origin and under its path; clear() forgets everything', () => {
    const jar = new CookieJar();
    jar.store(HTTP, ['route=a; Path=/', 'admin=1; Path=/admin']);
    expect(jar.header(HTTP)).toBe('route=a');
    expect(jar.header(`${HTTP}admin/x`)).toBe('admin=1; route=a');
    expect(jar.header('http://127.0.0.2:8080/')).toBeUndefined();
    jar.clear();
    expect(jar.header(HTTP)).toBeUndefined();
  });

  test('Max-Age wins over Expires, and a cookie whose Max-Age has run out is no longer sent', async () => {
    const jar = new CookieJar();
    jar.store(HTTP, [
      'a=1; Max-Age=100; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
      'b=2; Max-Age=1',
      'c=3; Max-Age=soon',
    ]);
    expect(jar.header(HTTP)).toBe('a=1; b=2; c=3');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(jar.header(HTTP)).toBe('a=1; c=3');
  });
});
