import type { BackendSpec } from './render-options';
import { accessLogMaps } from './access-log';
import { validateNaiveOptions } from './validate';

/**
 * The seed article's configuration as written, for side-by-side demonstrations: only the listen and backend
 * addresses are substituted. It trusts X-Forwarded-For from every address (`set_real_ip_from 0.0.0.0/0`),
 * passes on whatever X-Forwarded-For the client sent, benches a failed server for 300 s and defeats
 * upstream keepalive with an unconditional `Connection "upgrade"`. Never ship it.
 */
export function renderNaiveConfig(options: {
  listen: string;
  backends: readonly BackendSpec[];
}): string {
  const o = validateNaiveOptions(options);
  const lines = [
    "# The seed article's configuration as written (sticky-edge render --naive). Do not deploy it.",
    // Not the article's: the JSON access log of the main nginx.conf names these variables. They route nothing.
    ...accessLogMaps([], false),
    '',
    'upstream my_app {',
    '    ip_hash;',
    ...o.backends.map(
      (b) => `    server ${b.address} weight=100 max_fails=5 fail_timeout=300;`,
    ),
    '    keepalive 8;',
    '}',
    '',
    'server {',
    `    listen ${o.listen};`,
    '    # The only server on its listener, so this name matches nothing and changes nothing.',
    '    server_name example.com;',
    '',
    '    set_real_ip_from 0.0.0.0/0;',
    '    real_ip_header X-Forwarded-For;',
    '    real_ip_recursive on;',
    '',
    '    location / {',
    '        proxy_pass http://my_app;',
    '        proxy_http_version 1.1;',
    '        proxy_set_header Upgrade $http_upgrade;',
    '        proxy_set_header Connection "upgrade";',
    '        proxy_set_header Host $host;',
    '        proxy_set_header X-Real-IP $remote_addr;',
    '        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '    }',
    '}',
  ];
  return lines.join('\n') + '\n';
}
