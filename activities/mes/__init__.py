"""The ERP work orders' effects (`work-order-{id}`): each one DB transaction, harmless to retry."""

from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities.base import Effects
from dto.mes import (
    CREATE_WORK_ORDER,
    MOVE_WORK_ORDER,
    SET_WORK_ORDER_DEPENDENCIES,
    CreateWorkOrder,
    DependencyChange,
    WorkOrderMove,
    WorkOrderView,
)
from services.mes import work_orders


class WorkOrderActivities(Effects):
    def all(self) -> list[Callable[..., Any]]:
        return [self.create_work_order, self.move_work_order, self.set_work_order_dependencies]

    @activity.defn(name=CREATE_WORK_ORDER.name)
    def create_work_order(self, request: CreateWorkOrder) -> WorkOrderView:
        with self.transaction() as session:
            return work_orders.create(session, request)

    @activity.defn(name=MOVE_WORK_ORDER.name)
    def move_work_order(self, change: WorkOrderMove) -> WorkOrderView:
        with self.transaction() as session:
            return work_orders.move(session, change)

    @activity.defn(name=SET_WORK_ORDER_DEPENDENCIES.name)
    def set_work_order_dependencies(self, change: DependencyChange) -> WorkOrderView:
        with self.transaction() as session:
            return work_orders.set_dependencies(session, change)
