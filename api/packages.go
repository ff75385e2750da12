package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bookinggw/gateway/core"
)

func (s *Server) packageRoutes() {
	svc := s.d.Services
	s.handle(Route{Method: "POST", Path: "/packages", Tag: "packages", Summary: "create a package: N visits of given services, valid for some days",
		Req: core.PackageInput{}, Resp: core.Package{}, Status: 201}, func(c *gin.Context) {
		var in core.PackageInput
		if bindJSON(c, &in) {
			respond(c, http.StatusCreated)(svc.Money.CreatePackage(c.Request.Context(), principal(c), in))
		}
	})
	s.handle(Route{Method: "GET", Path: "/packages", Tag: "packages", Summary: "list packages", Resp: core.Package{}, List: true},
		func(c *gin.Context) {
			if pg, ok := page(c); ok {
				l, err := svc.Money.ListPackages(c.Request.Context(), principal(c), pg)
				respondList(c, l, err, pg, func(x core.Package) string { return x.ID })
			}
		})
	s.handle(Route{Method: "POST", Path: "/package-sales", Tag: "packages", Summary: "sell a package to a client (optionally paid now by hand)",
		Req: core.SaleInput{}, Resp: core.PackageSale{}, Status: 201}, func(c *gin.Context) {
		var in core.SaleInput
		if bindJSON(c, &in) {
			respond(c, http.StatusCreated)(svc.Money.SellPackage(c.Request.Context(), principal(c), in))
		}
	})
	s.handle(Route{Method: "GET", Path: "/package-sales", Tag: "packages", Summary: "list package sales", Resp: core.PackageSale{}, List: true,
		Query: []Param{{Name: "client_id", Type: "string"}}}, func(c *gin.Context) {
		if pg, ok := page(c); ok {
			l, err := svc.Money.ListSales(c.Request.Context(), principal(c), c.Query("client_id"), pg)
			respondList(c, l, err, pg, func(x core.PackageSale) string { return x.ID })
		}
	})
	s.handle(Route{Method: "GET", Path: "/package-sales/:id", Tag: "packages", Summary: "one package sale", Resp: core.PackageSale{}},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "package sale"); ok {
				respond(c, http.StatusOK)(svc.Money.GetSale(c.Request.Context(), principal(c), id))
			}
		})
	s.handle(Route{Method: "POST", Path: "/package-sales/:id/payments", Tag: "packages",
		Summary: "record a payment (or a negative refund) for a sale; more than the balance is refused",
		Req:     core.PaymentInput{}, Resp: core.PackageSale{}, Status: 201}, func(c *gin.Context) {
		var in core.PaymentInput
		if id, ok := idParam(c, "id", "package sale"); ok && bindJSON(c, &in) {
			respond(c, http.StatusCreated)(svc.Money.SalePayment(c.Request.Context(), principal(c), id, in))
		}
	})
	s.handle(Route{Method: "GET", Path: "/package-sales/:id/payments", Tag: "packages",
		Summary: "the sale's ledger: payments and refunds (negative), by hand or from the payment provider", Resp: core.Payment{}, List: true},
		func(c *gin.Context) {
			id, ok := idParam(c, "id", "package sale")
			if !ok {
				return
			}
			if pg, ok := page(c); ok {
				l, err := svc.Money.ListSalePayments(c.Request.Context(), principal(c), id, pg)
				respondList(c, l, err, pg, func(x core.Payment) string { return x.ID })
			}
		})
	s.handle(Route{Method: "POST", Path: "/package-sales/:id/change", Tag: "packages",
		Summary: "refund the unused visits (what was paid beyond the value of the visits used) or change the end date", Req: core.SaleChange{}, Resp: core.PackageSale{}},
		func(c *gin.Context) {
			var in core.SaleChange
			if id, ok := idParam(c, "id", "package sale"); ok && bindJSON(c, &in) {
				respond(c, http.StatusOK)(svc.Money.ChangeSale(c.Request.Context(), principal(c), id, in))
			}
		})
	s.handle(Route{Method: "POST", Path: "/package-sales/:id/recalculate", Tag: "packages",
		Summary: "charge the sale anew with every visit its rules cover inside its validity window (after its end date moved)", Resp: core.PackageSale{}}, func(c *gin.Context) {
		if id, ok := idParam(c, "id", "package sale"); ok {
			respond(c, http.StatusOK)(svc.Money.RecalculateSale(c.Request.Context(), principal(c), id))
		}
	})
	s.handle(Route{Method: "GET", Path: "/debtors", Tag: "packages",
		Summary: "clients who owe money, with name and phone: completed visits without package and unpaid, what is due and unpaid of package sales", Resp: ListResponse[core.Debtor]{}},
		func(c *gin.Context) {
			l, err := svc.Money.Debtors(c.Request.Context(), principal(c))
			if l == nil {
				l = []core.Debtor{}
			}
			respond(c, http.StatusOK)(ListResponse[core.Debtor]{Items: l}, err)
		})
}
