select * from {{ ref('items') }} where id < 0
