/**
 * The README's nginx `auth_request` recipe, as a template the integration test fills in.
 * Keep the README's copy in step with this one.
 */
export function nginxRecipe(p: { listen: number; ringlet: number; app: number; prefix: string }): string {
  return `
worker_processes 1;
user root;
error_log ${p.prefix}/error.log warn;
pid ${p.prefix}/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${p.prefix}/body;
  proxy_temp_path ${p.prefix}/proxy;
  fastcgi_temp_path ${p.prefix}/fastcgi;
  uwsgi_temp_path ${p.prefix}/uwsgi;
  scgi_temp_path ${p.prefix}/scgi;

  upstream ringlet { server 127.0.0.1:${p.ringlet}; }

  server {
    listen 127.0.0.1:${p.listen};

    # ringlet's own pages: login, logout, password change, session info.
    location ~ ^/(login|logout|password|session|sessions|token)(/|$) {
      proxy_pass http://ringlet;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
    }

    # Every request to the admin UI asks ringlet first.
    location = /_ringlet_auth {
      internal;
      proxy_pass http://ringlet/auth;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Host $host;
      proxy_set_header X-Original-URI $request_uri;
    }

    location / {
      auth_request /_ringlet_auth;
      auth_request_set $ringlet_user $upstream_http_remote_user;
      auth_request_set $ringlet_groups $upstream_http_remote_groups;
      # Cookie mode re-issues its cookie after half the idle window: pass it on.
      auth_request_set $ringlet_cookie $upstream_http_set_cookie;
      add_header Set-Cookie $ringlet_cookie;
      error_page 401 = @ringlet_login;
      proxy_set_header Remote-User $ringlet_user;
      proxy_set_header Remote-Groups $ringlet_groups;
      proxy_pass http://127.0.0.1:${p.app};
    }

    location @ringlet_login {
      return 302 /login?next=$request_uri;
    }
  }
}
`;
}
