"""Minimum master data for a sales flow in a fresh Tryton database (run by tryton.sh).

Runs with Debian's system python3 through proteus, *before* the server starts (the
server caches user preferences). Creates: company "Peer ERP Inc." in USD, the minimal
chart of accounts with default receivable/payable, a fiscal year of the current year
with monthly periods and invoice sequences, a product category "Sales" with revenue
and expense accounts, the products WIDGET (goods, 10.00/Unit) and CONSULT (service,
80.00/Hour), an employee "Sales Rep" as admin's current employee, and a second user
"clerk" (same groups, same password) who plays a person editing in the ERP.

usage: python3 tryton_master_data.py CONF DB PASSWORD_FILE
"""
import datetime
import sys
from decimal import Decimal

from proteus import Model, Wizard, config as pconfig

# The helpers in trytond.modules.*.tests.tools cannot be imported outside a test run
# (trytond.tests needs DB_NAME), so their few steps are written out here.

conf_file, db, pass_file = sys.argv[1:4]
password = open(pass_file).read().strip()
config = pconfig.set_trytond(database=db, config_file=conf_file)

Party = Model.get("party.party")
User = Model.get("res.user")

# Currency USD (rate 1.0) and the company, admin joined to it (company.company.config).
Currency = Model.get("currency.currency")
usd = Currency(name="U.S. Dollar", symbol="$", code="USD", rounding=Decimal("0.01"))
usd.save()
Model.get("currency.currency.rate")(date=datetime.date.min, rate=Decimal("1.0"), currency=usd).save()
company_party = Party(name="Peer ERP Inc.")
company_party.save()
wizard = Wizard("company.company.config")
wizard.execute("company")
wizard.form.party = company_party
wizard.form.currency = usd
wizard.execute("add")
config._context = User.get_preferences(True, {})
company, = Model.get("company.company").find()

# Chart of accounts from the minimal template; default receivable/payable set.
ModelData = Model.get("ir.model.data")
data, = ModelData.find([("module", "=", "account"), ("fs_id", "=", "account_template_root_en")], limit=1)
chart = Wizard("account.create_chart")
chart.execute("account")
chart.form.account_template = Model.get("account.account.template")(data.db_id)
chart.form.company = company
chart.execute("create_account")
Account = Model.get("account.account")
accounts = {}
for kind in ["receivable", "payable", "revenue", "expense"]:
    accounts[kind], = Account.find([("type.%s" % kind, "=", True), ("company", "=", company.id)], limit=1)
if accounts["receivable"].party_required:
    chart.form.account_receivable = accounts["receivable"]
if accounts["payable"].party_required:
    chart.form.account_payable = accounts["payable"]
chart.execute("create_properties")

# Fiscal year of the current year, monthly periods, invoice sequences (to post invoices).
today = datetime.date.today()
SequenceType = Model.get("ir.sequence.type")
move_type, = SequenceType.find([("name", "=", "Account Move")], limit=1)
move_seq = Model.get("ir.sequence")(name=str(today.year), sequence_type=move_type, company=company)
move_seq.save()
fiscalyear = Model.get("account.fiscalyear")(name=str(today.year), company=company,
    start_date=datetime.date(today.year, 1, 1), end_date=datetime.date(today.year, 12, 31),
    post_move_sequence=move_seq)
invoice_type, = SequenceType.find([("name", "=", "Invoice")], limit=1)
invoice_seq = Model.get("ir.sequence.strict")(name=str(today.year), sequence_type=invoice_type, company=company)
invoice_seq.save()
seq, = fiscalyear.invoice_sequences
seq.out_invoice_sequence = invoice_seq
seq.in_invoice_sequence = invoice_seq
seq.out_credit_note_sequence = invoice_seq
seq.in_credit_note_sequence = invoice_seq
fiscalyear.save()
fiscalyear.click("create_period")

# Account category for products (confirm needs a revenue account to create the invoice).
Category = Model.get("product.category")
category = Category(name="Sales", accounting=True)
category.account_revenue = accounts["revenue"]
category.account_expense = accounts["expense"]
category.save()

Uom = Model.get("product.uom")
unit, = Uom.find([("name", "=", "Unit")])
hour, = Uom.find([("name", "=", "Hour")])
Template = Model.get("product.template")
for code, name, kind, uom, price in [
    ("WIDGET", "Widget", "goods", unit, Decimal("10")),
    ("CONSULT", "Consulting hour", "service", hour, Decimal("80")),
]:
    t = Template(name=name, code=code, type=kind, default_uom=uom, salable=True, sale_uom=uom,
                 list_price=price, account_category=category)
    t.save()

# An employee for sale.opportunity and quoted_by/confirmed_by.
Employee = Model.get("company.employee")
employee = Employee(party=Party(name="Sales Rep"), company=company)
employee.party.save()
employee.save()
admin, = User.find([("login", "=", "admin")])
admin.employees.append(employee)
admin.employee = employee
admin.save()

# A second user, a person editing in the ERP (tests of modifiedBy / conflicts).
clerk = User(name="Clerk", login="clerk", password=password)
Group = Model.get("res.group")
clerk.groups.extend(Group.find([("id", "in", [g.id for g in admin.groups])]))
clerk.companies.append(Model.get("company.company")(company.id))
clerk.company = Model.get("company.company")(company.id)
clerk.save()

print("master data: company %s, chart, fiscal year %s, category %s, 2 products, employee %s, user clerk"
      % (company.id, fiscalyear.name, category.id, employee.id))
