from ninja import Router, Schema, Status

from outtake.accounts import services
from outtake.accounts.auth import scoped

router = Router(tags=["accounts"])


class MeOut(Schema):
    id: int
    email: str
    role: str
    organization_id: str
    organization: str
    pseudonym: str


class TokenIn(Schema):
    name: str
    scopes: list[str] | None = None


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    token: str | None = None


@router.get("/me", response=MeOut, auth=scoped("read"))
def me(request):
    u = request.auth
    return MeOut(
        id=u.id,
        email=u.email,
        role=u.role,
        organization_id=str(u.organization_id),
        organization=u.organization.name,
        pseudonym=u.organization.pseudonym,
    )


@router.post("/tokens", response={201: TokenOut}, auth=scoped("read"))
def create_token(request, payload: TokenIn):
    new = services.create_token(request.auth, payload.name, payload.scopes)
    t = new.token
    return Status(
        201, TokenOut(id=t.id, name=t.name, prefix=t.prefix, scopes=t.scopes, token=new.raw)
    )


@router.delete("/tokens/{int:token_id}", response={204: None}, auth=scoped("read"))
def revoke_token(request, token_id: int):
    services.revoke_token(request.auth, token_id)
    return Status(204, None)
