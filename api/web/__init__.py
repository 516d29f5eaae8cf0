"""The web pages a node serves (办件查询, staff queue, supervision): HTML on the node's own API.

Why server-rendered: an applicant on a phone at a county window needs a page that works without
a build step, without JavaScript and without the internet (no CDN). Pages are Jinja2 templates
over the same services the JSON API calls; the little JavaScript there is only enhances.
"""

from api.web.pages import WebContext, web_router

__all__ = ["WebContext", "web_router"]
