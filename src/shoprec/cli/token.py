"""``shoprec token``: mint a shopper token, as the shop's backend does for a page it serves."""

from __future__ import annotations

from typing import Annotated

import typer

from shoprec.errors import ConfigError

from .app import ConfigOption, app, console, settings_from


@app.command("token")
def token(
    user_id: Annotated[str, typer.Argument(help="The shopper the token is for.")],
    ttl: Annotated[
        float, typer.Option("--ttl", min=1.0, help="Seconds until the token expires.")
    ] = 3600.0,
    config: ConfigOption = None,
) -> None:
    """Print a token letting one shopper's browser read their recommendations and send events.

    It is signed with ``serving.token_secret``; send it as the ``X-Shopper-Token`` header.
    """
    from shoprec.serving.security import mint_token

    secret = settings_from(config).serving.token_secret
    if secret is None:
        raise ConfigError(
            "serving.token_secret is not set (SHOPREC_SERVING__TOKEN_SECRET=...): "
            "no token can be minted"
        )
    console.print(mint_token(secret, user_id, ttl), soft_wrap=True)
