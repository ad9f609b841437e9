"""A center's protocol settings and treatment orders over the API: the same selectors, policies
and services as the pages.

    GET  /treatment/protocol-settings                         each shipped protocol: the version
                                                              in force and the one awaiting
                                                              signatures (the caller's center)
    GET  /treatment/protocol-settings/{id}                    one version, with its signatures
    POST /treatment/protocol-settings                         enter the settings: a new version
                                                              (201) or the unsigned one changed
                                                              (200)
    POST /treatment/protocol-settings/{id}/signatures         sign as pharmacist or physician
    POST /treatment/protocol-settings/{id}/discard            end a version awaiting signatures

and the orders computed from the settings in force (written from the journey):

    GET  /treatment/orders                                    the pharmacist's queue: orders
                                                              awaiting verification, and
                                                              verified ones whose inputs changed
    GET  /treatment/orders/{id}                               one order, with its inputs,
                                                              calculation and verification
    POST /treatment/orders/{id}/verification                  the pharmacist's e-signature
    POST /treatment/orders/{id}/reorder                       replace it by one computed again
    POST /treatment/orders/{id}/cancel                        cancel it, with the reason
    POST /treatment/orders/{id}/doses/{n}/administration      dose n given, held or not given

the infusion day's checklist (opened from the journey, `POST /journeys/{id}/infusion`):

    GET  /treatment/infusions/{id}                            bags, premedication, thaws, each
                                                              person's identity check, what
                                                              still blocks the start, the
                                                              window, start, end, cell dose
    POST /treatment/infusions/{id}/premedications             a premedication given
    POST /treatment/infusions/{id}/thaws                      a bag's thaw time
    POST /treatment/infusions/{id}/scans                      a scan of the identity check (a
                                                              mismatch is recorded: 201,
                                                              accepted false)
    POST /treatment/infusions/{id}/start                      the start, once nothing blocks it
    POST /treatment/infusions/{id}/end                        the end, bags and viable cells

and IL-2 dose by dose:

    GET  /treatment/orders/{id}/il2                           doses given, held, not given; the
                                                              next dose and its window; the
                                                              observations the rules read; the
                                                              decisions
    POST /treatment/orders/{id}/il2/assessments               the nurse's assessment
    POST /treatment/il2-decisions/{id}/decision               the treating physician's decision

Only the center's own staff see its settings and orders: a version or an order of another
center, or any of them for a facility's user, is 404. A role that may not enter, sign or discard
settings, or verify, cancel or write an order again, gets 403 (the policy's words), as does a
second signature by the same role. A refused value is 422 under `values.<key>`, in the words of
the protocol file's declaration (its label and limit). An order whose doses no longer follow the
latest inputs is not verified, and an order is not written again while the center's settings
are not in force: 409, saying why.

The infusion day and IL-2 follow the same rules: another center's checklist, order or decision
(or any of them for a facility's user) is 404; a role that may not record the infusion day,
assess or decide a dose gets 403 (the policy's words) before its body is read further; a step
the checklist's or order's state refuses is 409 with every reason; an observation the protocol's
rules do not read is 422 under `observations.<key>`.

The settings (`protocols`), the orders (`orders`), the infusion day (`infusion`) and IL-2
(`il2`) are mounted in that order under one router.
"""

from ninja import Router

from tilcare.treatment.api import il2, infusion, orders, protocols

router = Router(tags=["treatment"])
for _part in (protocols, orders, infusion, il2):
    router.add_router("", _part.router)
