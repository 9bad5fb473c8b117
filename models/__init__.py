"""All ORM models, imported here so Alembic sees the whole metadata."""

from models.approvals import (
    ApprovalInstance,
    ApprovalTask,
    ApprovalTemplate,
    ApprovalTemplateStep,
    WorkflowDefinition,
    WorkflowTransition,
)
from models.audit import AuditEntry
from models.base import Base
from models.catalog import (
    Certification,
    Material,
    MaterialCategory,
    MaterialCertification,
    Part,
    PartMaterial,
    Supplier,
    SupplierMaterial,
)
from models.identity import AuthSession, LoginAttempt, User
from models.mes import (
    InspectionCharacteristic,
    InspectionLog,
    InspectionMeasurement,
    InspectionPlan,
    InspectionPoint,
    ProductionLog,
    RoutingOperation,
    WorkOrder,
    WorkOrderDependency,
)
from models.mes.equipment import (
    DowntimeEvent,
    DowntimeReason,
    Machine,
    MachineStatusChange,
    Plant,
    Shift,
    ShiftHandover,
)
from models.mes.maintenance import PmChecklistItem, PmSchedule, PmWorkOrder
from models.mes.traceability import (
    Customer,
    Lot,
    MaterialConsumption,
    ProductSerial,
    RecallNotice,
    RecallReport,
    Shipment,
    ShipmentItem,
)
from models.notifications import Notification
from models.operations import (
    AppliedOperation,
    DocumentSequence,
    IdempotencyKey,
    IdempotentRequest,
    SerialNumber,
    WorkerHeartbeat,
)
from models.procurement import (
    GoodsReceipt,
    GoodsReceiptLine,
    Inventory,
    InventoryTransaction,
    PurchaseOrder,
    PurchaseOrderHistory,
    PurchaseOrderLine,
)
from models.production import Batch, Module, ModuleCell, Pack, Sku
from models.quality import NcrPhoto, NcrType, NonConformance
from models.stock import (
    Delivery,
    DeliveryLine,
    Location,
    LocationStock,
    LocationUser,
    NcrLine,
    Period,
    PeriodClosingStock,
    PeriodLocation,
    PeriodPrice,
    PobEntry,
    Reconciliation,
    StockIssue,
    StockIssueLine,
    StockMovement,
    Transfer,
    TransferLine,
)

__all__ = [
    "AppliedOperation", "AuditEntry", "AuthSession", "Base", "Batch", "Certification", "IdempotencyKey",
    "IdempotentRequest", "WorkerHeartbeat",
    "LoginAttempt", "Material", "MaterialCategory", "MaterialCertification", "Module", "ModuleCell", "Pack", "Part",
    "PartMaterial", "SerialNumber", "Sku", "Supplier", "SupplierMaterial", "User", "RoutingOperation",
]
__all__ += [
    "ApprovalInstance", "ApprovalTask", "ApprovalTemplate", "ApprovalTemplateStep", "DocumentSequence", "GoodsReceipt",
    "GoodsReceiptLine", "NonConformance", "Notification", "PurchaseOrder", "PurchaseOrderHistory", "PurchaseOrderLine",
]
__all__ += ["Inventory", "InventoryTransaction"]
__all__ += [
    "Delivery", "DeliveryLine", "Location", "LocationStock", "LocationUser", "NcrLine", "Period", "PeriodClosingStock",
    "PeriodLocation", "PeriodPrice", "PobEntry", "Reconciliation", "StockIssue", "StockIssueLine", "StockMovement",
    "Transfer", "TransferLine",
]
__all__ += [
    "InspectionCharacteristic", "InspectionLog", "InspectionMeasurement", "InspectionPlan", "InspectionPoint",
    "NcrPhoto", "NcrType", "ProductionLog", "WorkOrder", "WorkOrderDependency", "WorkflowDefinition",
    "WorkflowTransition",
]
__all__ += [
    "Customer", "DowntimeEvent", "DowntimeReason", "Lot", "Machine", "MachineStatusChange", "MaterialConsumption",
    "Plant", "PmChecklistItem", "PmSchedule", "PmWorkOrder", "ProductSerial", "RecallNotice", "RecallReport",
    "Shift", "ShiftHandover", "Shipment", "ShipmentItem",
]
